/**
 * Usage Records and Balance (api.twilio.com 2010-04-01), computed from what the sandbox
 * actually did. The ledger keeps no totals of its own: it reads the stores' records
 * (every message, call, recording, transcription and verification ever made, deleted and
 * expired ones too, because Twilio bills what it did whatever happened to the resource
 * later) and sums the `price` each resource carries. Lookups are the exception: a lookup
 * leaves no resource behind, so the router reports each answer (`recordLookup`).
 *
 * Categories (Twilio's names, from the spec's `usage_record_enum_category`), leaf → parent:
 *
 *   sms-outbound, sms-inbound → sms          mms-outbound, mms-inbound → mms
 *   channels-whatsapp-outbound, -inbound → channels-whatsapp → channels
 *   calls-outbound (incl. <Dial> legs), calls-inbound → calls
 *   recordings, transcriptions
 *   number-format-lookups, enhanced-line-type-lookups, calleridlookups, sms-pumping-risk,
 *   sim-swap-lookups → lookups
 *   verify-voice-sms (sms, call), verify-whatsapp-conversations-business-initiated,
 *   verify-outbound-email
 *   totalprice: the price of everything
 *
 * What counts: an outbound message once it was sent (it has a `price`; a failed one never
 * left and costs nothing), every inbound message (price 0: the resource bills nothing),
 * an answered call (count 1, usage its started minutes), a completed recording or
 * transcription (usage its started minutes), an approved verification (the channel it was
 * last sent on), a lookup of a valid number (one per paid package that answered without
 * an error_code; with none, one free number-format lookup). SMS `count` and `usage` are
 * segments ("messages", as Twilio bills each segment); MMS and WhatsApp count messages.
 *
 * Dates are UTC days of the ledger's clock (`now`, default the wall clock), so a test that
 * moves the clock a day on sees today's usage under Yesterday. An event's day: a message's
 * `date_sent` (inbound: `date_created`), a call's `start_time`, a recording's and a
 * transcription's `date_created`, a verification's approval, a lookup's answer.
 */
import { paginate } from './paging.js';
import { LOOKUP_PACKAGE_PRICES, startedMinutes, VERIFICATION_SUCCESS } from './prices.js';
import type { Reply } from './router.js';
import { first, type Params, TwilioError } from './wire.js';

/** What the ledger reads from the stores: read-only histories. */
export interface UsageSources {
  messages: { everCreated(): readonly UsageMessage[] };
  calls: { everCreated(): readonly UsageCall[] };
  recordings: { everCreated(): readonly UsagePriced[]; transcriptionsEverCreated(): readonly UsagePriced[] };
  verify: { everStarted(): readonly UsageVerification[] };
}

/** The fields of the stores' records the ledger needs (structural, so the stores stay unaware of it). */
export interface UsageMessage {
  to: string;
  from: string | null;
  direction: string;
  numSegments: number;
  media: readonly unknown[];
  price: string | null;
  dateCreated: Date;
  dateSent: Date | null;
}
export interface UsageCall {
  direction: string;
  durationSeconds: number | null;
  price: string | null;
  startTime: Date | null;
  dateCreated: Date;
}
export interface UsagePriced {
  durationSeconds: number;
  price: string | null;
  dateCreated: Date;
}
export interface UsageVerification {
  channel: string;
  status: string;
  dateUpdated: Date;
}

/** One billed thing. `price` is in units of 0.00001 USD (Twilio's five decimals), so sums are exact. */
export interface UsageEvent {
  category: string;
  at: Date;
  count: number;
  usage: number;
  price: number;
}

interface CategoryInfo {
  description: string;
  countUnit: string;
  usageUnit: string;
  parent?: string;
}

/** Every category the sandbox accrues; listed (with zeros when unused) in this order, as Twilio lists alphabetically. */
export const USAGE_CATEGORIES: Readonly<Record<string, CategoryInfo>> = {
  calleridlookups: { description: 'Caller Name Lookups', countUnit: 'lookups', usageUnit: 'lookups', parent: 'lookups' },
  calls: { description: 'Voice Minutes', countUnit: 'calls', usageUnit: 'minutes' },
  'calls-inbound': { description: 'Inbound Voice Minutes', countUnit: 'calls', usageUnit: 'minutes', parent: 'calls' },
  'calls-outbound': { description: 'Outbound Voice Minutes', countUnit: 'calls', usageUnit: 'minutes', parent: 'calls' },
  channels: { description: 'Channels', countUnit: 'messages', usageUnit: 'messages' },
  'channels-whatsapp': { description: 'WhatsApp', countUnit: 'messages', usageUnit: 'messages', parent: 'channels' },
  'channels-whatsapp-inbound': { description: 'WhatsApp Inbound', countUnit: 'messages', usageUnit: 'messages', parent: 'channels-whatsapp' },
  'channels-whatsapp-outbound': { description: 'WhatsApp Outbound', countUnit: 'messages', usageUnit: 'messages', parent: 'channels-whatsapp' },
  'enhanced-line-type-lookups': { description: 'Line Type Intelligence Lookups', countUnit: 'lookups', usageUnit: 'lookups', parent: 'lookups' },
  lookups: { description: 'Lookups', countUnit: 'lookups', usageUnit: 'lookups' },
  mms: { description: 'MMS', countUnit: 'messages', usageUnit: 'messages' },
  'mms-inbound': { description: 'Inbound MMS', countUnit: 'messages', usageUnit: 'messages', parent: 'mms' },
  'mms-outbound': { description: 'Outbound MMS', countUnit: 'messages', usageUnit: 'messages', parent: 'mms' },
  'number-format-lookups': { description: 'Number Format Lookups', countUnit: 'lookups', usageUnit: 'lookups', parent: 'lookups' },
  recordings: { description: 'Voice Minutes Recordings', countUnit: 'recordings', usageUnit: 'minutes' },
  'sim-swap-lookups': { description: 'SIM Swap Lookups', countUnit: 'lookups', usageUnit: 'lookups', parent: 'lookups' },
  sms: { description: 'SMS', countUnit: 'messages', usageUnit: 'messages' },
  'sms-inbound': { description: 'Inbound SMS', countUnit: 'messages', usageUnit: 'messages', parent: 'sms' },
  'sms-outbound': { description: 'Outbound SMS', countUnit: 'messages', usageUnit: 'messages', parent: 'sms' },
  'sms-pumping-risk': { description: 'SMS Pumping Risk Lookups', countUnit: 'lookups', usageUnit: 'lookups', parent: 'lookups' },
  totalprice: { description: 'Total Price', countUnit: '', usageUnit: 'usd' },
  transcriptions: { description: 'Transcriptions', countUnit: 'transcriptions', usageUnit: 'minutes' },
  'verify-outbound-email': { description: 'Verify Email Verifications', countUnit: 'verifications', usageUnit: 'verifications' },
  'verify-voice-sms': { description: 'Verify SMS and Voice Verifications', countUnit: 'verifications', usageUnit: 'verifications' },
  'verify-whatsapp-conversations-business-initiated': { description: 'Verify WhatsApp Verifications', countUnit: 'verifications', usageUnit: 'verifications' },
};

const VERIFY_CATEGORY: Record<string, string> = {
  sms: 'verify-voice-sms',
  call: 'verify-voice-sms',
  whatsapp: 'verify-whatsapp-conversations-business-initiated',
  email: 'verify-outbound-email',
};

const LOOKUP_CATEGORY: Record<keyof typeof LOOKUP_PACKAGE_PRICES, string> = {
  line_type_intelligence: 'enhanced-line-type-lookups',
  caller_name: 'calleridlookups',
  sms_pumping_risk: 'sms-pumping-risk',
  sim_swap: 'sim-swap-lookups',
};

/** Default starting credit of the sandbox account, USD (Balance = this − what was billed). */
export const DEFAULT_STARTING_BALANCE = 20;

const UNITS_PER_DOLLAR = 100_000;
const toUnits = (dollars: number) => Math.round(Math.abs(dollars) * UNITS_PER_DOLLAR);
const priceUnits = (price: string | null) => (price === null ? 0 : toUnits(Number(price)));

/** `2192.84855`, `3.52`, `0`: Twilio's usage prices, trailing zeros dropped. */
export function usagePrice(units: number): string {
  return (units / UNITS_PER_DOLLAR).toFixed(5).replace(/\.?0+$/, '');
}

export interface UsageOptions {
  /** The ledger's clock: what "today" is. Default the wall clock. */
  now?: () => Date;
  /** USD; default DEFAULT_STARTING_BALANCE. */
  startingBalance?: number;
  /** When the account began (AllTime's start). */
  startedAt: Date;
}

const DAY_MS = 86_400_000;
const dayOf = (d: Date) => d.toISOString().slice(0, 10);
const parseDay = (day: string) => Date.parse(`${day}T00:00:00Z`);
const addDays = (day: string, n: number) => dayOf(new Date(parseDay(day) + n * DAY_MS));
const monthStart = (day: string) => `${day.slice(0, 7)}-01`;
const monthEnd = (day: string) => {
  const d = new Date(parseDay(monthStart(day)));
  return dayOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)));
};
const yearStart = (day: string) => `${day.slice(0, 4)}-01-01`;
const yearEnd = (day: string) => `${day.slice(0, 4)}-12-31`;

export class UsageLedger {
  readonly now: () => Date;
  readonly startingBalance: number;
  private readonly startedAt: Date;
  private readonly lookups: UsageEvent[] = [];
  /** More producers (conversations, video…) plug in here without touching the ledger. */
  private readonly extraSources: Array<() => Iterable<UsageEvent>> = [];

  constructor(
    readonly accountSid: string,
    private readonly sources: UsageSources,
    options: UsageOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.startingBalance = options.startingBalance ?? DEFAULT_STARTING_BALANCE;
    this.startedAt = options.startedAt;
  }

  addSource(source: () => Iterable<UsageEvent>): void {
    this.extraSources.push(source);
  }

  /**
   * A Lookup v2 answer (the lookups.v2.phone_number body). A valid number bills each paid
   * package that answered without an error_code; with none, one free number-format lookup.
   */
  recordLookup(body: unknown, at: Date = this.now()): void {
    if (typeof body !== 'object' || body === null || (body as { valid?: unknown }).valid !== true) return;
    let paid = 0;
    for (const [field, price] of Object.entries(LOOKUP_PACKAGE_PRICES) as Array<[keyof typeof LOOKUP_PACKAGE_PRICES, number]>) {
      const answer = (body as Record<string, unknown>)[field];
      if (typeof answer !== 'object' || answer === null || ((answer as { error_code?: unknown }).error_code ?? null) !== null) continue;
      this.lookups.push({ category: LOOKUP_CATEGORY[field], at, count: 1, usage: 1, price: toUnits(price) });
      paid++;
    }
    if (paid === 0) this.lookups.push({ category: 'number-format-lookups', at, count: 1, usage: 1, price: 0 });
  }

  /** Every billed event (leaf categories only), from the stores' records. */
  events(): UsageEvent[] {
    const events: UsageEvent[] = [];
    for (const m of this.sources.messages.everCreated()) {
      const inbound = m.direction === 'inbound';
      const at = inbound ? m.dateCreated : m.dateSent;
      // An outbound message is billed once sent; one that failed never left Twilio.
      if (at === null || (!inbound && m.price === null)) continue;
      const whatsapp = m.to.startsWith('whatsapp:') || (m.from ?? '').startsWith('whatsapp:');
      const kind = whatsapp ? 'channels-whatsapp' : m.media.length > 0 ? 'mms' : 'sms';
      const units = kind === 'sms' ? m.numSegments : 1;
      events.push({ category: `${kind}-${inbound ? 'inbound' : 'outbound'}`, at, count: units, usage: units, price: priceUnits(m.price) });
    }
    for (const c of this.sources.calls.everCreated()) {
      if (c.price === null || c.durationSeconds === null) continue;
      const category = c.direction === 'inbound' ? 'calls-inbound' : 'calls-outbound';
      events.push({ category, at: c.startTime ?? c.dateCreated, count: 1, usage: startedMinutes(c.durationSeconds), price: priceUnits(c.price) });
    }
    const media: Array<[string, readonly UsagePriced[]]> = [
      ['recordings', this.sources.recordings.everCreated()],
      ['transcriptions', this.sources.recordings.transcriptionsEverCreated()],
    ];
    for (const [category, items] of media) {
      for (const r of items) {
        if (r.price !== null) events.push({ category, at: r.dateCreated, count: 1, usage: startedMinutes(r.durationSeconds), price: priceUnits(r.price) });
      }
    }
    for (const v of this.sources.verify.everStarted()) {
      const category = VERIFY_CATEGORY[v.channel];
      if (v.status === 'approved' && category) events.push({ category, at: v.dateUpdated, count: 1, usage: 1, price: toUnits(VERIFICATION_SUCCESS) });
    }
    events.push(...this.lookups);
    for (const source of this.extraSources) events.push(...source());
    return events;
  }

  /** Everything billed so far, in 0.00001 USD. */
  spendUnits(): number {
    return this.events().reduce((sum, e) => sum + e.price, 0);
  }

  /** The Balance resource's `balance`: starting credit minus the spend, five decimals. */
  balance(): string {
    return ((toUnits(this.startingBalance) - this.spendUnits()) / UNITS_PER_DOLLAR).toFixed(5);
  }

  today(): string {
    return dayOf(this.now());
  }

  /** The account's first day (AllTime's start); never after today, whatever the clock says. */
  firstDay(): string {
    const start = dayOf(this.startedAt);
    const today = this.today();
    return start < today ? start : today;
  }

  /**
   * Totals per category (leaves rolled up into their parents, and `totalprice`) of the
   * events whose UTC day is in [start, end].
   */
  totals(start: string, end: string, events: UsageEvent[] = this.events()): Map<string, { count: number; usage: number; price: number }> {
    const totals = new Map(Object.keys(USAGE_CATEGORIES).map((c) => [c, { count: 0, usage: 0, price: 0 }]));
    for (const e of events) {
      const day = dayOf(e.at);
      if (day < start || day > end) continue;
      for (let category: string | undefined = e.category; category; category = USAGE_CATEGORIES[category]?.parent) {
        const t = totals.get(category);
        if (!t) break;
        t.count += e.count;
        t.usage += e.usage;
        t.price += e.price;
      }
      const total = totals.get('totalprice')!;
      total.price += e.price;
    }
    const total = totals.get('totalprice')!;
    total.usage = total.price;
    return totals;
  }
}

type Period = 'Records' | 'Today' | 'Yesterday' | 'ThisMonth' | 'LastMonth' | 'Daily' | 'Monthly' | 'Yearly' | 'AllTime';
const SUBRESOURCES = new Set<string>(['Today', 'Yesterday', 'ThisMonth', 'LastMonth', 'Daily', 'Monthly', 'Yearly', 'AllTime']);
const USAGE_PATH = /^\/Usage\/Records(?:\/([A-Za-z]+))?\.json$/;

/** The spec's `subresource_uris` keys and their path segments. */
const SUBRESOURCE_KEYS: Array<[string, string]> = [
  ['all_time', 'AllTime'],
  ['daily', 'Daily'],
  ['last_month', 'LastMonth'],
  ['monthly', 'Monthly'],
  ['this_month', 'ThisMonth'],
  ['today', 'Today'],
  ['yearly', 'Yearly'],
  ['yesterday', 'Yesterday'],
];

const invalid = (message: string) => new TwilioError(400, 20001, message);

/** `YYYY-MM-DD`, or Twilio's offsets from today (`-30days`, `+30days`). */
export function parseUsageDate(name: string, value: string, today: string): string {
  const offset = /^([+-])(\d{1,5})days?$/.exec(value);
  if (offset) return addDays(today, (offset[1] === '-' ? -1 : 1) * Number(offset[2]));
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(parseDay(value)) && dayOf(new Date(parseDay(value))) === value) return value;
  throw invalid(`Invalid ${name}: ${value}. Use YYYY-MM-DD or an offset such as -30days.`);
}

function defaultRange(period: Period, ledger: UsageLedger): [string, string] {
  const today = ledger.today();
  const firstDay = ledger.firstDay();
  switch (period) {
    case 'Today':
      return [today, today];
    case 'Yesterday': {
      const yesterday = addDays(today, -1);
      return [yesterday, yesterday];
    }
    case 'ThisMonth':
      return [monthStart(today), today];
    case 'LastMonth': {
      const last = addDays(monthStart(today), -1);
      return [monthStart(last), last];
    }
    case 'Monthly':
      return [monthStart(firstDay), today];
    case 'Yearly':
      return [yearStart(firstDay), today];
    default:
      return [firstDay, today];
  }
}

/** The [start, end] intervals a period splits its range into: one, or one per day, month or year. */
function buckets(period: Period, start: string, end: string): Array<[string, string]> {
  if (period !== 'Daily' && period !== 'Monthly' && period !== 'Yearly') return [[start, end]];
  const out: Array<[string, string]> = [];
  for (let from = start; from <= end; ) {
    const last = period === 'Daily' ? from : period === 'Monthly' ? monthEnd(from) : yearEnd(from);
    const to = last < end ? last : end;
    out.push([from, to]);
    from = addDays(to, 1);
  }
  return out;
}

/** At most this many intervals per request, so `Daily` from 1970 cannot make millions of records. */
const MAX_BUCKETS = 3660;

/**
 * `GET /Usage/Records.json` and its subresources, `GET /Balance.json`. `rest` is the path
 * after `/2010-04-01/Accounts/{AccountSid}`. Undefined for any other path.
 */
export function usageRoute(ledger: UsageLedger, accountSid: string, method: string, rest: string, query: Params): Reply | undefined {
  const base = `/2010-04-01/Accounts/${accountSid}`;
  if (rest === '/Balance.json') {
    if (method !== 'GET') throw new TwilioError(404, 20404, `The requested resource ${base}${rest} was not found`);
    return { status: 200, body: { account_sid: accountSid, balance: ledger.balance(), currency: 'USD' } };
  }
  const match = USAGE_PATH.exec(rest);
  if (!match) return undefined;
  const sub = match[1];
  if (sub !== undefined && !SUBRESOURCES.has(sub)) return undefined;
  if (method !== 'GET') throw new TwilioError(404, 20404, `The requested resource ${base}${rest} was not found`);
  const period = (sub ?? 'Records') as Period;

  const today = ledger.today();
  const [defaultStart, defaultEnd] = defaultRange(period, ledger);
  const startParam = first(query, 'StartDate');
  const endParam = first(query, 'EndDate');
  const start = startParam ? parseUsageDate('StartDate', startParam, today) : defaultStart;
  const end = endParam ? parseUsageDate('EndDate', endParam, today) : defaultEnd;
  if (end < start) throw invalid(`EndDate ${end} is before StartDate ${start}`);
  const intervals = buckets(period, start, end);
  if (intervals.length > MAX_BUCKETS) throw invalid(`The date range gives ${intervals.length} ${period} records per category; the sandbox answers at most ${MAX_BUCKETS}. Narrow StartDate/EndDate.`);

  const category = first(query, 'Category');
  // A category the sandbox never accrues answers an empty page rather than a made-up record.
  const categories = category === undefined ? Object.keys(USAGE_CATEGORIES) : USAGE_CATEGORIES[category] ? [category] : [];
  const asOf = `${ledger.now().toISOString().slice(0, 19)}+00:00`;
  const events = ledger.events();
  const listPath = `${base}/Usage/Records${sub ? `/${sub}` : ''}.json`;
  const records: Array<{ sid: string; json: unknown }> = [];
  for (const [from, to] of intervals) {
    const totals = ledger.totals(from, to, events);
    for (const name of categories) {
      const info = USAGE_CATEGORIES[name]!;
      const t = totals.get(name)!;
      const json = {
        account_sid: accountSid,
        api_version: '2010-04-01',
        as_of: asOf,
        category: name,
        count: name === 'totalprice' ? null : String(t.count),
        count_unit: info.countUnit,
        description: info.description,
        end_date: to,
        price: usagePrice(t.price),
        price_unit: 'usd',
        start_date: from,
        subresource_uris: Object.fromEntries(SUBRESOURCE_KEYS.map(([key, path]) => [key, `${base}/Usage/Records/${path}.json?Category=${name}`])),
        uri: `${listPath}?Category=${name}&StartDate=${from}&EndDate=${to}`,
        usage: name === 'totalprice' ? usagePrice(t.usage) : String(t.usage),
        usage_unit: info.usageUnit,
      };
      // Records have no SID; paging.ts pages by one, so each gets a synthetic position key.
      records.push({ sid: `UR${records.length.toString(16).padStart(32, '0')}`, json });
    }
  }
  return { status: 200, body: paginate(records, query, listPath, 'usage_records', (r) => r.json) };
}
