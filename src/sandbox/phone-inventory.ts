/**
 * Phone numbers on api.twilio.com (2010-04-01): the AvailablePhoneNumbers search and the
 * account's IncomingPhoneNumbers (list, buy, fetch, update, release).
 *
 * The inventory is deterministic: for each country, type and prefix (a US area code, a UK
 * dialling code…) the same seed gives the same numbers in every run, each checked valid by
 * libphonenumber, with real-looking locality, region, LATA and rate centre where Twilio
 * gives them (US and Canada). `Contains` also synthesises numbers that carry the pattern,
 * so a search for a vanity pattern finds some, as Twilio's large inventory would.
 * Numbers the account owns are never offered.
 *
 * Buying applies Twilio's documented test-credential magic: PhoneNumber +15005550006
 * succeeds, +15005550000 is 21422 (not available), +15005550001 is 21421 (invalid);
 * AreaCode 533 is 21452 (none found), AreaCode 500 gives +15005550006. A bought number
 * joins `account.numbers` at once, so it can send and receive like the first one.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { type Account, phoneNumberJson, type PhoneNumberConfig } from './account.js';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import { paginate } from './paging.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, TwilioError } from './wire.js';

export type NumberType = 'local' | 'mobile' | 'tollFree';

interface Capabilities {
  voice: boolean;
  sms: boolean;
  mms: boolean;
  fax: boolean;
}

interface Prefix {
  /** National digits every number of this prefix starts with (a US area code, UK "20"…). */
  digits: string;
  locality: string | null;
  region: string | null;
  lata: string | null;
  rateCenter: string | null;
  latitude: string | null;
  longitude: string | null;
  postalCode: string | null;
}

interface TypeInventory {
  prefixes: Prefix[];
  capabilities: (e164: string) => Capabilities;
  addressRequirements: 'none' | 'any' | 'local' | 'foreign';
}

interface CountryInventory {
  name: string;
  /** libphonenumber's national number length for these numbers. */
  nationalLength: number;
  types: Partial<Record<NumberType, TypeInventory>>;
}

const place = (digits: string, locality: string | null, region: string | null = null, lata: string | null = null, rateCenter: string | null = null, lat?: number, lon?: number, postalCode: string | null = null): Prefix => ({
  digits, locality, region, lata, rateCenter,
  // Twilio sends coordinates as strings with six decimals ("19.720000"), its own examples show.
  latitude: lat === undefined ? null : lat.toFixed(6),
  longitude: lon === undefined ? null : lon.toFixed(6),
  postalCode,
});
const bare = (digits: string) => place(digits, null);

/** North American local numbers ending in 7 are voice-only, so SmsEnabled has something to filter. */
const nanpLocal = (e164: string): Capabilities => {
  const messaging = !e164.endsWith('7');
  return { voice: true, sms: messaging, mms: messaging, fax: false };
};
const all = (): Capabilities => ({ voice: true, sms: true, mms: true, fax: false });
const voiceOnly = (): Capabilities => ({ voice: true, sms: false, mms: false, fax: false });
const voiceSms = (): Capabilities => ({ voice: true, sms: true, mms: false, fax: false });
const TOLL_FREE_NANP = ['800', '833', '844', '855', '866', '877', '888'].map(bare);

export const INVENTORY: Record<string, CountryInventory> = {
  US: {
    name: 'United States',
    nationalLength: 10,
    types: {
      local: {
        prefixes: [
          place('415', 'San Francisco', 'CA', '722', 'SNFC CNTRL', 37.7749, -122.4194, '94103'),
          place('212', 'New York', 'NY', '132', 'NWYRCYZN01', 40.7128, -74.006, '10001'),
          place('312', 'Chicago', 'IL', '358', 'CHICAGO', 41.8781, -87.6298, '60601'),
          place('206', 'Seattle', 'WA', '674', 'SEATTLE', 47.6062, -122.3321, '98101'),
          place('512', 'Austin', 'TX', '558', 'AUSTIN', 30.2672, -97.7431, '78701'),
          place('305', 'Miami', 'FL', '460', 'MIAMI', 25.7617, -80.1918, '33101'),
          place('617', 'Boston', 'MA', '128', 'BOSTON', 42.3601, -71.0589, '02108'),
          place('808', 'Hilo', 'HI', '834', 'HILO', 19.72, -155.09, '96720'),
        ],
        capabilities: nanpLocal,
        addressRequirements: 'none',
      },
      tollFree: { prefixes: TOLL_FREE_NANP, capabilities: all, addressRequirements: 'none' },
    },
  },
  CA: {
    name: 'Canada',
    nationalLength: 10,
    types: {
      local: {
        prefixes: [
          place('604', 'Vancouver', 'BC', '888', 'VANCOUVER', 49.2827, -123.1207, 'V6B'),
          place('416', 'Toronto', 'ON', '858', 'TORONTO', 43.6532, -79.3832, 'M5H'),
          place('514', 'Montreal', 'QC', '850', 'MONTREAL', 45.5017, -73.5673, 'H2Y'),
          place('403', 'Calgary', 'AB', '884', 'CALGARY', 51.0447, -114.0719, 'T2P'),
        ],
        capabilities: nanpLocal,
        addressRequirements: 'none',
      },
      tollFree: { prefixes: TOLL_FREE_NANP, capabilities: all, addressRequirements: 'none' },
    },
  },
  GB: {
    name: 'United Kingdom',
    nationalLength: 10,
    types: {
      local: {
        prefixes: [place('20', 'London'), place('161', 'Manchester'), place('121', 'Birmingham'), place('131', 'Edinburgh')],
        capabilities: voiceOnly,
        addressRequirements: 'any',
      },
      mobile: { prefixes: ['74', '75', '77', '78', '79'].map(bare), capabilities: voiceSms, addressRequirements: 'none' },
      tollFree: { prefixes: ['800', '808'].map(bare), capabilities: voiceOnly, addressRequirements: 'none' },
    },
  },
  DE: {
    name: 'Germany',
    nationalLength: 10,
    types: {
      local: { prefixes: [place('30', 'Berlin'), place('89', 'Munich')], capabilities: voiceOnly, addressRequirements: 'local' },
      mobile: { prefixes: ['151', '160', '170'].map(bare), capabilities: voiceSms, addressRequirements: 'local' },
    },
  },
  FR: {
    name: 'France',
    nationalLength: 9,
    types: {
      local: { prefixes: [place('1', 'Paris'), place('4', 'Lyon')], capabilities: voiceOnly, addressRequirements: 'local' },
      mobile: { prefixes: ['6', '7'].map(bare), capabilities: voiceSms, addressRequirements: 'local' },
    },
  },
  AU: {
    name: 'Australia',
    nationalLength: 9,
    types: {
      local: { prefixes: [place('2', 'Sydney'), place('3', 'Melbourne')], capabilities: voiceOnly, addressRequirements: 'any' },
      mobile: { prefixes: [bare('4')], capabilities: voiceSms, addressRequirements: 'any' },
    },
  },
};

const TYPE_PATHS: Record<string, NumberType> = { Local: 'local', Mobile: 'mobile', TollFree: 'tollFree' };
const SUBRESOURCE_KEYS: Record<NumberType, [key: string, path: string]> = {
  local: ['local', 'Local'], mobile: ['mobile', 'Mobile'], tollFree: ['toll_free', 'TollFree'],
};

// ── Prices ──────────────────────────────────────────────────────────────────

/** Monthly prices in USD the sandbox quotes (Twilio's list prices round these; the sandbox bills nothing). */
export const MONTHLY_NUMBER_PRICES: Record<string, Partial<Record<NumberType, string>>> = {
  US: { local: '1.15', tollFree: '2.15' },
  CA: { local: '1.15', tollFree: '2.15' },
  GB: { local: '1.15', mobile: '1.15', tollFree: '2.15' },
};
const DEFAULT_PRICES: Record<NumberType, string> = { local: '3.00', mobile: '3.00', tollFree: '5.00' };

export function monthlyNumberPrice(isoCountry: string, type: NumberType): { price: string; priceUnit: 'USD' } {
  return { price: MONTHLY_NUMBER_PRICES[isoCountry.toUpperCase()]?.[type] ?? DEFAULT_PRICES[type], priceUnit: 'USD' };
}

// ── Generation ──────────────────────────────────────────────────────────────

function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: a small seeded generator, so an inventory is the same in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYPAD: Record<string, string> = Object.fromEntries(
  Object.entries({ 2: 'ABC', 3: 'DEF', 4: 'GHI', 5: 'JKL', 6: 'MNO', 7: 'PQRS', 8: 'TUV', 9: 'WXYZ' }).flatMap(([digit, letters]) => [...letters].map((l) => [l, digit])),
);

interface ContainsPattern {
  /** Digits and `*`, letters already mapped to keypad digits. */
  digits: string;
  /** A leading `+`: the pattern is matched from the start of the E.164 number. */
  anchored: boolean;
  regex: RegExp;
}

export function parseContains(raw: string | undefined): ContainsPattern | undefined {
  if (raw === undefined || raw === '') return undefined;
  const anchored = raw.startsWith('+');
  const body = anchored ? raw.slice(1) : raw;
  if (!/^[0-9A-Za-z*]+$/.test(body) || body.length < 2) {
    throw new TwilioError(400, 20001, `Invalid Contains pattern ${raw}: use at least 2 of 0-9, a-z, A-Z and * (one digit)`);
  }
  const digits = [...body.toUpperCase()].map((c) => KEYPAD[c] ?? c).join('');
  const source = digits.replace(/\*/g, '\\d');
  return { digits, anchored, regex: anchored ? new RegExp(`^\\+${source}`) : new RegExp(source) };
}

interface Candidate {
  e164: string;
  prefix: Prefix;
}

const BASE_POOL = 20;
const SYNTHESISED_PER_PREFIX = 20;
const MAX_ATTEMPTS = 400;

function generate(country: string, type: NumberType, prefix: Prefix, callingCode: string, nationalLength: number, pattern: ContainsPattern | undefined): Candidate[] {
  const random = seeded(stableHash(`${country}:${type}:${prefix.digits}:${pattern?.digits ?? ''}:${pattern?.anchored ?? ''}`));
  const digit = () => String(Math.floor(random() * 10));
  const wanted = pattern ? SYNTHESISED_PER_PREFIX : BASE_POOL;
  const found = new Map<string, Candidate>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS && found.size < wanted; attempt++) {
    const rest = Array.from({ length: nationalLength - prefix.digits.length }, digit);
    // A NANP exchange never starts with 0 or 1.
    if (callingCode === '1' && /^[01]$/.test(rest[0]!)) rest[0] = String(2 + Math.floor(random() * 8));
    const all = [...`${callingCode}${prefix.digits}`, ...rest];
    if (pattern) {
      const p = pattern.digits;
      const lowest = pattern.anchored ? 0 : callingCode.length;
      const highest = pattern.anchored ? 0 : all.length - p.length;
      if (highest < lowest) break;
      const at = lowest + Math.floor(random() * (highest - lowest + 1));
      [...p].forEach((c, i) => {
        if (c !== '*') all[at + i] = c;
      });
    }
    const e164 = `+${all.join('')}`;
    if (!e164.startsWith(`+${callingCode}${prefix.digits}`) || found.has(e164)) continue;
    const parsed = parsePhoneNumberFromString(e164);
    // North American toll-free numbers belong to no one country: libphonenumber files them under US.
    const sharedTollFree = type === 'tollFree' && callingCode === '1';
    if (!parsed?.isValid() || (parsed.country !== country && !sharedTollFree)) continue;
    if (pattern && !pattern.regex.test(pattern.anchored ? e164 : e164.slice(1 + callingCode.length))) continue;
    found.set(e164, { e164, prefix });
  }
  return [...found.values()];
}

const CALLING_CODES: Record<string, string> = { US: '1', CA: '1', GB: '44', DE: '49', FR: '33', AU: '61' };

/** `(415) 555-0123` for North America, E.164 elsewhere. */
export function friendlyNameOf(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

function availableJson(country: string, inventory: TypeInventory, c: Candidate) {
  return {
    friendly_name: friendlyNameOf(c.e164),
    phone_number: c.e164,
    lata: c.prefix.lata,
    locality: c.prefix.locality,
    rate_center: c.prefix.rateCenter,
    latitude: c.prefix.latitude,
    longitude: c.prefix.longitude,
    region: c.prefix.region,
    postal_code: c.prefix.postalCode,
    iso_country: country,
    address_requirements: inventory.addressRequirements,
    beta: false,
    capabilities: inventory.capabilities(c.e164),
  };
}

function booleanFilter(query: Params, name: string): boolean | undefined {
  const value = first(query, name);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new TwilioError(400, 20001, `${name} must be true or false`);
}

/** The AvailablePhoneNumbers search, filters applied; owned numbers excluded. */
export function searchAvailable(account: Account, country: string, type: NumberType, query: Params): ReturnType<typeof availableJson>[] {
  const countryInventory = INVENTORY[country]!;
  const inventory = countryInventory.types[type]!;
  const callingCode = CALLING_CODES[country]!;
  const areaCode = first(query, 'AreaCode');
  if (areaCode !== undefined && !/^\d{1,5}$/.test(areaCode)) throw new TwilioError(400, 21451, `Invalid area code ${areaCode}`);
  const pattern = parseContains(first(query, 'Contains'));
  const pageSize = Number(first(query, 'PageSize') ?? 50);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new TwilioError(400, 20001, 'PageSize must be an integer between 1 and 1000');
  const wants = { sms: booleanFilter(query, 'SmsEnabled'), mms: booleanFilter(query, 'MmsEnabled'), voice: booleanFilter(query, 'VoiceEnabled'), fax: booleanFilter(query, 'FaxEnabled') };
  const place = { region: first(query, 'InRegion'), locality: first(query, 'InLocality'), postalCode: first(query, 'InPostalCode'), lata: first(query, 'InLata'), rateCenter: first(query, 'InRateCenter') };

  // Twilio's test area code: no numbers there, ever.
  if (areaCode === '533') return [];
  let prefixes = inventory.prefixes;
  if (areaCode !== undefined) {
    const known = prefixes.filter((p) => p.digits === areaCode);
    // Another real area code of the country still has numbers, without a place attached.
    prefixes = known.length > 0 ? known : callingCode === '1' && areaCode.length === 3 && type === 'local' ? [bare(areaCode)] : [];
  }
  prefixes = prefixes.filter((p) => (Object.keys(place) as (keyof typeof place)[]).every((k) => place[k] === undefined || (p[k] ?? '').toLowerCase() === place[k]!.toLowerCase()));

  const owned = new Set(account.numbers.map((n) => n.phoneNumber));
  const results: ReturnType<typeof availableJson>[] = [];
  for (const prefix of prefixes) {
    for (const candidate of generate(country, type, prefix, callingCode, countryInventory.nationalLength, pattern)) {
      if (owned.has(candidate.e164)) continue;
      const json = availableJson(country, inventory, candidate);
      if ((Object.keys(wants) as (keyof typeof wants)[]).some((k) => wants[k] !== undefined && json.capabilities[k] !== wants[k])) continue;
      results.push(json);
    }
  }
  return results.slice(0, pageSize);
}

function countryJson(accountSid: string, code: string) {
  const base = `/2010-04-01/Accounts/${accountSid}/AvailablePhoneNumbers/${code}`;
  const types = Object.keys(INVENTORY[code]!.types) as NumberType[];
  return {
    country_code: code,
    country: INVENTORY[code]!.name,
    uri: `${base}.json`,
    beta: false,
    subresource_uris: Object.fromEntries(types.map((t) => [SUBRESOURCE_KEYS[t][0], `${base}/${SUBRESOURCE_KEYS[t][1]}.json`])),
  };
}

// ── IncomingPhoneNumbers ────────────────────────────────────────────────────

/** What a number has beyond account.ts's PhoneNumberConfig (kept aside so account.ts stays as it is). */
interface NumberExtras {
  type?: NumberType;
  capabilities?: Capabilities;
}
const extras = new WeakMap<PhoneNumberConfig, NumberExtras>();

const WIRE_TYPES: Record<NumberType, string> = { local: 'local', mobile: 'mobile', tollFree: 'toll-free' };

/** phoneNumberJson (account.ts) plus what this module keeps: the number's type and capabilities. */
export function incomingPhoneNumberJson(account: Account, n: PhoneNumberConfig) {
  const more = extras.get(n) ?? {};
  return {
    ...phoneNumberJson(account, n),
    ...(more.capabilities !== undefined && { capabilities: more.capabilities }),
    ...(more.type !== undefined && { type: WIRE_TYPES[more.type] }),
  };
}

export interface PhoneNumbersOptions {
  callbackPolicy?: CallbackPolicy;
  now?: () => Date;
}

interface NumberConfigChange {
  friendlyName?: string;
  smsUrl?: string | null;
  smsMethod?: string;
  voiceUrl?: string | null;
  voiceMethod?: string;
  statusCallback?: string | null;
}

/**
 * Reads and checks every configurable parameter before anything changes, so a refused
 * request (21502 for a URL the callback policy refuses) changes nothing. An empty URL clears it.
 */
function parseNumberConfig(form: Params, policy: CallbackPolicy | undefined): NumberConfigChange {
  const change: NumberConfigChange = {};
  for (const [param, field] of [['SmsUrl', 'smsUrl'], ['VoiceUrl', 'voiceUrl'], ['StatusCallback', 'statusCallback']] as const) {
    const value = first(form, param);
    if (value === undefined) continue;
    const why = value === '' ? undefined : /^https?:\/\/\S+$/.test(value) ? callbackRefusal(value, policy) : 'it is not an http(s) URL';
    if (why) throw new TwilioError(400, 21502, `Invalid ${param} ${value}: ${why}.`);
    change[field] = value || null;
  }
  for (const [param, field] of [['SmsMethod', 'smsMethod'], ['VoiceMethod', 'voiceMethod']] as const) {
    const value = first(form, param);
    if (!value) continue;
    const method = value.toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new TwilioError(400, 20001, `${param} must be GET or POST, not ${value}`);
    change[field] = method;
  }
  const friendlyName = first(form, 'FriendlyName');
  if (friendlyName !== undefined) {
    if (friendlyName.length > 64) throw new TwilioError(400, 20001, 'FriendlyName must be at most 64 characters');
    if (friendlyName !== '') change.friendlyName = friendlyName;
  }
  return change;
}

function applyNumberConfig(n: PhoneNumberConfig, change: NumberConfigChange, now: Date): void {
  // VoiceMethod lives on the number (account.ts): the call walker reads it for inbound calls.
  Object.assign(n, change);
  n.dateUpdated = now;
}

const MAGIC_BUY_OK = '+15005550006';
const MAGIC_UNAVAILABLE = '+15005550000';
const MAGIC_INVALID = '+15005550001';

function numberTypeOf(e164: string): NumberType {
  const t = parsePhoneNumberFromString(e164)?.getType();
  return t === 'TOLL_FREE' ? 'tollFree' : t === 'MOBILE' ? 'mobile' : 'local';
}

/** Which number a buy gets, by PhoneNumber or AreaCode, with Twilio's test magic applied. */
function numberToBuy(account: Account, form: Params): string {
  const wanted = first(form, 'PhoneNumber');
  const areaCode = first(form, 'AreaCode');
  if (wanted) {
    if (wanted === MAGIC_UNAVAILABLE) throw new TwilioError(400, 21422, `PhoneNumber ${wanted} is not available`);
    if (wanted === MAGIC_INVALID) throw new TwilioError(400, 21421, `PhoneNumber ${wanted} is invalid`);
    if (wanted === MAGIC_BUY_OK) return wanted;
    const parsed = parsePhoneNumberFromString(wanted);
    if (!/^\+\d+$/.test(wanted) || !parsed?.isValid()) throw new TwilioError(400, 21421, `PhoneNumber ${wanted} is invalid`);
    // Test numbers (+1 500 555 …) other than the magic one, numbers of countries without an
    // inventory, and numbers someone (this account) already has are not for sale.
    const country = parsed.country ?? '';
    const unavailable = wanted.startsWith('+1500') || !INVENTORY[country]?.types[numberTypeOf(wanted)] || account.numbers.some((n) => n.phoneNumber === wanted);
    if (unavailable) throw new TwilioError(400, 21422, `PhoneNumber ${wanted} is not available`);
    return wanted;
  }
  if (areaCode !== undefined && areaCode !== '') {
    if (!/^\d{3}$/.test(areaCode)) throw new TwilioError(400, 21451, `Invalid area code ${areaCode}`);
    if (areaCode === '500') return MAGIC_BUY_OK;
    for (const country of ['US', 'CA']) {
      const [offer] = searchAvailable(account, country, 'local', new Map([['AreaCode', [areaCode]], ['PageSize', ['1']]]));
      if (offer) return offer.phone_number;
    }
    throw new TwilioError(400, 21452, `No phone numbers found in area code ${areaCode}`);
  }
  throw new TwilioError(400, 20001, 'Missing required parameter PhoneNumber or AreaCode in the post body');
}

/** Buys a number (POST IncomingPhoneNumbers.json); the refused cases add nothing. */
export function buyNumber(account: Account, form: Params, options: PhoneNumbersOptions = {}): PhoneNumberConfig {
  const change = parseNumberConfig(form, options.callbackPolicy);
  const e164 = numberToBuy(account, form);
  const now = (options.now ?? (() => new Date()))();
  // The magic test number always "succeeds": if the account has it already, that is the one bought.
  const existing = account.numbers.find((n) => n.phoneNumber === e164);
  if (existing) {
    applyNumberConfig(existing, change, now);
    return existing;
  }
  const parsed = parsePhoneNumberFromString(e164);
  const type = numberTypeOf(e164);
  const inventory = INVENTORY[parsed?.country ?? '']?.types[type];
  const number: PhoneNumberConfig = {
    sid: newSid('PN'),
    phoneNumber: e164,
    friendlyName: friendlyNameOf(e164),
    countryCode: parsed?.country ?? 'US',
    smsUrl: null,
    smsMethod: 'POST',
    voiceUrl: null,
    voiceMethod: 'POST',
    statusCallback: null,
    dateCreated: now,
    dateUpdated: now,
  };
  extras.set(number, { type, ...(inventory && { capabilities: inventory.capabilities(e164) }) });
  applyNumberConfig(number, change, now);
  account.numbers.push(number);
  return number;
}

const AVAILABLE_PATH = /^\/AvailablePhoneNumbers(?:\/([A-Za-z]{2})(?:\/(Local|Mobile|TollFree))?)?\.json$/;
const NUMBER_PATH = /^\/IncomingPhoneNumbers\/(PN[0-9a-fA-F]{32})\.json$/;

/**
 * The AvailablePhoneNumbers and IncomingPhoneNumbers routes under
 * `/2010-04-01/Accounts/{AccountSid}`; `rest` is the path after the account. Undefined
 * for a path or method that is not one of these.
 */
export function phoneNumbersRoute(
  account: Account,
  method: string,
  rest: string,
  query: Params,
  form: Params,
  options: PhoneNumbersOptions = {},
): Reply | undefined {
  const base = `/2010-04-01/Accounts/${account.sid}`;
  const now = options.now ?? (() => new Date());
  const notFound = () => new TwilioError(404, 20404, `The requested resource ${base}${rest} was not found`);

  const available = AVAILABLE_PATH.exec(rest);
  if (available) {
    if (method !== 'GET') return undefined;
    const [, rawCountry, typePath] = available;
    if (rawCountry === undefined) {
      return { status: 200, body: { countries: Object.keys(INVENTORY).map((c) => countryJson(account.sid, c)), uri: `${base}/AvailablePhoneNumbers.json` } };
    }
    const country = rawCountry.toUpperCase();
    // A country or a type Twilio has no numbers for answers like an unknown resource.
    if (!INVENTORY[country]) throw notFound();
    if (typePath === undefined) return { status: 200, body: countryJson(account.sid, country) };
    const type = TYPE_PATHS[typePath]!;
    if (!INVENTORY[country]!.types[type]) throw notFound();
    const search = new URLSearchParams();
    for (const [k, values] of query) for (const v of values) search.append(k, v);
    const uri = `${base}/AvailablePhoneNumbers/${rawCountry}/${typePath}.json${search.size > 0 ? `?${search.toString()}` : ''}`;
    return { status: 200, body: { available_phone_numbers: searchAvailable(account, country, type, query), uri } };
  }

  if (rest === '/IncomingPhoneNumbers.json') {
    if (method === 'POST') return { status: 201, body: incomingPhoneNumberJson(account, buyNumber(account, form, options)) };
    if (method === 'GET') {
      const phoneNumber = first(query, 'PhoneNumber');
      const friendlyName = first(query, 'FriendlyName');
      const items = account.numbers.filter((n) => (!phoneNumber || n.phoneNumber === phoneNumber) && (!friendlyName || n.friendlyName === friendlyName));
      return { status: 200, body: paginate(items, query, `${base}/IncomingPhoneNumbers.json`, 'incoming_phone_numbers', (n) => incomingPhoneNumberJson(account, n)) };
    }
    return undefined;
  }

  const numberMatch = NUMBER_PATH.exec(rest);
  if (numberMatch) {
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return undefined;
    const index = account.numbers.findIndex((n) => n.sid === numberMatch[1]);
    const number = account.numbers[index];
    if (!number) throw notFound();
    if (method === 'DELETE') {
      account.numbers.splice(index, 1);
      return { status: 204 };
    }
    if (method === 'POST') applyNumberConfig(number, parseNumberConfig(form, options.callbackPolicy), now());
    return { status: 200, body: incomingPhoneNumberJson(account, number) };
  }
  return undefined;
}
