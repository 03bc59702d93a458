/**
 * Twilio's date filters on lists, one rule for every resource (Messages' DateSent, Calls'
 * StartTime, DateCreated/DateUpdated of recordings and conferences): `Name` compares the
 * date part only — a day or a full timestamp both mean that whole UTC day; `Name<` and
 * `Name>` with a day include that day, with a time they are exact. An item without the
 * date (a message never sent, a call never started) matches no filter on it.
 */
import { first, type Params, TwilioError } from './wire.js';

const DAY = 86_400_000;
const dayOnly = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);

export function dateFilter<T>(query: Params, name: string, dateOf: (item: T) => Date | null): (item: T) => boolean {
  const on = first(query, name);
  const before = first(query, `${name}<`);
  const after = first(query, `${name}>`);
  if (!on && !before && !after) return () => true;
  const parse = (param: string, v: string) => {
    const t = Date.parse(dayOnly(v) ? `${v}T00:00:00Z` : v);
    if (Number.isNaN(t)) throw new TwilioError(400, 20001, `Invalid ${param}: ${v}`);
    return t;
  };
  const tests: Array<(t: number) => boolean> = [];
  if (on) {
    const start = Math.floor(parse(name, on) / DAY) * DAY;
    tests.push((t) => t >= start && t < start + DAY);
  }
  if (after) {
    const start = parse(`${name}>`, after);
    tests.push((t) => t >= start);
  }
  if (before) {
    const end = parse(`${name}<`, before) + (dayOnly(before) ? DAY : 1);
    tests.push((t) => t < end);
  }
  return (item) => {
    const date = dateOf(item);
    return date !== null && tests.every((test) => test(date.getTime()));
  };
}
