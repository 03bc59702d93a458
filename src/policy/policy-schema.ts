/**
 * The send policy: one zod schema (the single source of truth), read from a JSON file
 * (--policy FILE / TWILIO_MCP_POLICY) and overridden by environment variables for the
 * common cases. Every problem is reported with where it came from (file and key, or the
 * variable), what is wrong, and how to fix it; all problems at once, so one edit fixes all.
 *
 * Defaults (each documented where it is declared):
 *   destination countries  the sender number's country only (SMS-pumping defence)
 *   caps                   60 messages/hour, 500 messages/day, 100 calls/day, $20/day,
 *                          calendar windows in UTC (see policy-engine.ts)
 *   quiet hours            21:00–08:00 in the recipient's local time
 *   duplicate window       10 minutes
 *   first contact          allow;  dry run: off
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PolicyConfigError } from '../errors/startup-errors.js';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const numberOrPrefix = z.string().regex(/^\+\d{1,15}$/, 'must be an E.164 number or prefix, e.g. "+14155550100" or "+1900"');
const country = z.string().regex(/^([A-Z]{2}|\*)$/, 'must be an ISO country code such as "US" or "GB" (or "*" for all)');
const isoCountryKey = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO country code such as "US"');
const count = z.number().int().min(0);
const usd = z.number().min(0);

export const DEFAULT_CAPS = { messages_per_hour: 60, messages_per_day: 500, calls_per_day: 100, spend_per_day_usd: 20 } as const;
export const DEFAULT_QUIET_HOURS = { start: '21:00', end: '08:00' } as const;
export const DEFAULT_DUPLICATE_WINDOW_MINUTES = 10;

const CapsSchema = z
  .object({
    messages_per_hour: count.default(DEFAULT_CAPS.messages_per_hour),
    messages_per_day: count.default(DEFAULT_CAPS.messages_per_day),
    calls_per_day: count.default(DEFAULT_CAPS.calls_per_day),
    spend_per_day_usd: usd.default(DEFAULT_CAPS.spend_per_day_usd),
    /** The most messages one campaign may send (its eligible recipients); unset: only the caps above bound it. */
    messages_per_campaign: count.optional(),
  })
  .strict();

const QuietWindowSchema = z
  .object({
    start: z.string().regex(HHMM, 'must be HH:MM (24 h)'),
    end: z.string().regex(HHMM, 'must be HH:MM (24 h)'),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'equals start, which makes an empty window', path: ['end'] });

/** "21:00-08:00" in the file too, as in the environment variable. */
const quietHoursShorthand = (value: unknown) => {
  const m = typeof value === 'string' ? /^(\d\d:\d\d)\s*[-–]\s*(\d\d:\d\d)$/.exec(value.trim()) : null;
  return m ? { start: m[1], end: m[2] } : value;
};

const PricesSchema = z
  .object({
    sms_per_segment: z.record(isoCountryKey, usd).default({}),
    default_sms_per_segment: usd.optional(),
    call_per_minute: z.record(isoCountryKey, usd).default({}),
    default_call_per_minute: usd.optional(),
    mms_per_message: usd.optional(),
    whatsapp_per_message: usd.optional(),
  })
  .strict();

const AuditSchema = z.object({ redact_bodies: z.boolean().default(true) }).strict();

export const PolicySchema = z
  .object({
    allowed_countries: z.array(country).min(1).optional()
      .describe('Destination countries allowed. Default: only the sender number\'s country (defence against SMS-pumping fraud). ["*"] allows all — dangerous.'),
    allow_numbers: z.array(numberOrPrefix).default([]).describe('If not empty, only these numbers/prefixes may be contacted.'),
    deny_numbers: z.array(numberOrPrefix).default([]).describe('Never contact these numbers/prefixes. Wins over allow_numbers.'),
    caps: CapsSchema.default({ ...DEFAULT_CAPS }),
    quiet_hours: z
      .preprocess(quietHoursShorthand, z.union([z.literal('off'), QuietWindowSchema]))
      .default({ ...DEFAULT_QUIET_HOURS })
      .describe('Recipient local time; "off" disables. A window may cross midnight.'),
    duplicate_window_minutes: z.number().min(0).max(24 * 60).default(DEFAULT_DUPLICATE_WINDOW_MINUTES),
    dry_run: z.boolean().default(false),
    first_contact: z.enum(['allow', 'confirm', 'refuse']).default('allow'),
    first_contact_without_elicitation: z.enum(['allow', 'refuse']).default('refuse'),
    /** account: a STOP to any of your senders blocks every sender (the default); sender: only that sender. */
    opt_out_scope: z.enum(['account', 'sender']).default('account'),
    /** An SMS STOP also blocks calls (default false: a STOP is about texts; calls have their own do-not-call list). */
    calls_honor_sms_opt_outs: z.boolean().default(false),
    /** A campaign's own cap by its name, winning over caps.messages_per_campaign (e.g. {"spring-sale": 5000}). */
    campaign_caps: z.record(z.string().min(1).max(100), count).default({}),
    prices: PricesSchema.default({ sms_per_segment: {}, call_per_minute: {} }),
    audit: AuditSchema.default({ redact_bodies: true }),
  })
  .strict();

export type Policy = z.infer<typeof PolicySchema>;

export { PolicyConfigError };

/** The keys each object accepts, for "unknown key" messages. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(PolicySchema.shape),
  caps: Object.keys(CapsSchema.shape),
  quiet_hours: ['start', 'end'],
  prices: Object.keys(PricesSchema.shape),
  audit: Object.keys(AuditSchema.shape),
};

/** What a correct value looks like, by key (the most specific key that matches wins). */
const EXPECTED: Record<string, string> = {
  allowed_countries: 'a list of ISO country codes, e.g. ["US", "CA"] (["*"] allows every country — dangerous: SMS-pumping fraud)',
  allow_numbers: 'a list of E.164 numbers or prefixes, e.g. ["+14155550100", "+1415"]',
  deny_numbers: 'a list of E.164 numbers or prefixes, e.g. ["+1900", "+14155550666"]',
  caps: 'an object such as {"messages_per_hour": 60, "messages_per_day": 500, "calls_per_day": 100, "spend_per_day_usd": 20}',
  'caps.messages_per_hour': 'a whole number ≥ 0, e.g. 60',
  'caps.messages_per_day': 'a whole number ≥ 0, e.g. 500',
  'caps.calls_per_day': 'a whole number ≥ 0, e.g. 100',
  'caps.spend_per_day_usd': 'US dollars ≥ 0, e.g. 20',
  'caps.messages_per_campaign': 'a whole number ≥ 0, e.g. 10000',
  campaign_caps: 'an object of campaign name → whole number, e.g. {"spring-sale": 5000}',
  quiet_hours: '{"start": "21:00", "end": "08:00"} or "21:00-08:00" (24-hour, recipient local time), or "off"',
  'quiet_hours.start': '24-hour HH:MM, e.g. "21:00"',
  'quiet_hours.end': '24-hour HH:MM different from start, e.g. "08:00" (a window may cross midnight)',
  duplicate_window_minutes: 'minutes from 0 (check off) to 1440, e.g. 10',
  dry_run: 'true or false',
  first_contact: '"allow", "confirm" (ask the user) or "refuse"',
  first_contact_without_elicitation: '"allow" or "refuse"',
  opt_out_scope: '"account" (a STOP blocks every sender) or "sender"',
  calls_honor_sms_opt_outs: 'true (an SMS STOP also blocks calls) or false',
  prices: 'an object such as {"sms_per_segment": {"US": 0.0083}, "default_sms_per_segment": 0.12}',
  'prices.sms_per_segment': 'USD per segment by ISO country, e.g. {"US": 0.0083, "GB": 0.0524}',
  'prices.call_per_minute': 'USD per minute by ISO country, e.g. {"US": 0.014}',
  'prices.default_sms_per_segment': 'USD ≥ 0, e.g. 0.12',
  'prices.default_call_per_minute': 'USD ≥ 0, e.g. 0.4',
  'prices.mms_per_message': 'USD ≥ 0, e.g. 0.02',
  'prices.whatsapp_per_message': 'USD ≥ 0, e.g. 0.05',
  audit: '{"redact_bodies": true}',
  'audit.redact_bodies': 'true or false',
};

type EnvParse = (raw: string) => unknown;

interface EnvOverride {
  name: string;
  path: readonly string[];
  parse: EnvParse;
  /** The value's form, in the variable's own syntax. */
  expected: string;
}

/** A parser that cannot read the variable says so; the message comes from `expected`. */
const unreadable = (): never => {
  throw new RangeError('unreadable environment variable');
};
const list: EnvParse = (raw) => raw.split(',').map((item) => item.trim()).filter(Boolean);
const countryList: EnvParse = (raw) => (list(raw) as string[]).map((c) => c.toUpperCase());
const number: EnvParse = (raw) => {
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) unreadable();
  return n;
};
const bool: EnvParse = (raw) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  return unreadable();
};
const quietHours: EnvParse = (raw) => (raw.toLowerCase() === 'off' ? 'off' : quietHoursShorthand(raw));
const text: EnvParse = (raw) => raw.toLowerCase();

/** The common cases, each overriding the file's value at the same key. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { name: 'TWILIO_MCP_ALLOWED_COUNTRIES', path: ['allowed_countries'], parse: countryList, expected: 'ISO codes separated by commas, e.g. US,CA (* allows every country — dangerous)' },
  { name: 'TWILIO_MCP_ALLOW_NUMBERS', path: ['allow_numbers'], parse: list, expected: 'E.164 numbers or prefixes separated by commas, e.g. +14155550100,+1415' },
  { name: 'TWILIO_MCP_DENY_NUMBERS', path: ['deny_numbers'], parse: list, expected: 'E.164 numbers or prefixes separated by commas, e.g. +1900,+14155550666' },
  { name: 'TWILIO_MCP_MAX_MESSAGES_PER_HOUR', path: ['caps', 'messages_per_hour'], parse: number, expected: 'a whole number ≥ 0, e.g. 60' },
  { name: 'TWILIO_MCP_MAX_MESSAGES_PER_DAY', path: ['caps', 'messages_per_day'], parse: number, expected: 'a whole number ≥ 0, e.g. 500' },
  { name: 'TWILIO_MCP_MAX_CALLS_PER_DAY', path: ['caps', 'calls_per_day'], parse: number, expected: 'a whole number ≥ 0, e.g. 100' },
  { name: 'TWILIO_MCP_MAX_MESSAGES_PER_CAMPAIGN', path: ['caps', 'messages_per_campaign'], parse: number, expected: 'a whole number ≥ 0, e.g. 10000' },
  { name: 'TWILIO_MCP_MAX_SPEND_PER_DAY_USD', path: ['caps', 'spend_per_day_usd'], parse: number, expected: 'US dollars ≥ 0, e.g. 20' },
  { name: 'TWILIO_MCP_QUIET_HOURS', path: ['quiet_hours'], parse: quietHours, expected: '"HH:MM-HH:MM" (e.g. 21:00-08:00) or "off"' },
  { name: 'TWILIO_MCP_DUPLICATE_WINDOW_MINUTES', path: ['duplicate_window_minutes'], parse: number, expected: 'minutes from 0 (check off) to 1440, e.g. 10' },
  { name: 'TWILIO_MCP_DRY_RUN', path: ['dry_run'], parse: bool, expected: 'true or false' },
  { name: 'TWILIO_MCP_FIRST_CONTACT', path: ['first_contact'], parse: text, expected: 'allow, confirm or refuse' },
  { name: 'TWILIO_MCP_OPT_OUT_SCOPE', path: ['opt_out_scope'], parse: text, expected: 'account or sender' },
  { name: 'TWILIO_MCP_CALLS_HONOR_SMS_OPT_OUTS', path: ['calls_honor_sms_opt_outs'], parse: bool, expected: 'true or false' },
];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    // An override wins even over a malformed parent in the file (e.g. "caps": 5).
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The closest known key, when a typo is likely. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function expectedAt(path: readonly PropertyKey[]): string | undefined {
  const keys = path.filter((p): p is string => typeof p === 'string' && Number.isNaN(Number(p)));
  for (let n = keys.length; n > 0; n--) {
    const hint = EXPECTED[keys.slice(0, n).join('.')];
    if (hint) return hint;
  }
  return undefined;
}

/** What is wrong with one value, in words an operator reads at start-up. */
function whatIsWrong(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined ? `is missing (expected ${issue.expected})` : `expected ${issue.expected === 'int' ? 'a whole number' : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`}, got ${describeValue(input)}`;
    case 'invalid_value':
      return `${describeValue(input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return `${describeValue(input)} is not a valid value`;
    case 'invalid_key':
      return `key ${JSON.stringify(input)} ${issue.issues[0]?.message ?? 'is not valid'}`;
    case 'too_small':
      return `${describeValue(input)} is too small (minimum ${String(issue.minimum)}${issue.origin === 'array' ? ' entries' : ''})`;
    case 'too_big':
      return `${describeValue(input)} is too large (maximum ${String(issue.maximum)})`;
    default:
      return input === undefined || typeof input === 'object' ? issue.message : `${describeValue(input)} ${issue.message}`;
  }
}

/** caps.messages_per_day, deny_numbers[2] */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function unknownKeysProblem(issue: z.core.$ZodIssue & { code: 'unrecognized_keys' }, where: string): string {
  const objectPath = issue.path.join('.');
  const known = KNOWN_KEYS[objectPath] ?? [];
  return issue.keys
    .map((key) => {
      const guess = closest(key, known);
      const location = objectPath ? `${where}${objectPath}.${key}` : `${where}${key}`;
      return `${location}: unknown key.${guess ? ` Did you mean "${guess}"?` : ''} Known keys${objectPath ? ` in ${objectPath}` : ''}: ${known.join(', ')}. Remove or rename it.`;
    })
    .join('\n');
}

/**
 * The policy in force: the file (if any), then the environment variables over it, then
 * the defaults for whatever neither sets. Throws PolicyConfigError listing every problem.
 */
export function loadPolicy(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Policy {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const file = options.file ?? (env.TWILIO_MCP_POLICY?.trim() || undefined);
  let merged: Json = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new PolicyConfigError([
        `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Check the path given to --policy / TWILIO_MCP_POLICY, or remove it to use the defaults.`,
      ]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new PolicyConfigError([`${file}: not valid JSON (${(error as Error).message}). Fix the syntax there (comments and trailing commas are not allowed in JSON).`]);
    }
    if (!isObject(parsed)) {
      throw new PolicyConfigError([`${file}: the policy must be a JSON object such as {"allowed_countries": ["US"]}; got ${describeValue(parsed)}.`]);
    }
    merged = structuredClone(parsed);
  }

  const fromEnv: Array<{ override: EnvOverride; raw: string }> = [];
  for (const override of ENV_OVERRIDES) {
    const raw = env[override.name]?.trim();
    if (!raw) continue;
    try {
      setPath(merged, override.path, override.parse(raw));
      fromEnv.push({ override, raw });
    } catch {
      problems.push(`${override.name} must be ${override.expected}; got "${raw}".`);
    }
  }

  const parsed = PolicySchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const source = fromEnv.find(({ override }) => override.path.every((key, i) => issue.path[i] === key));
      if (source) {
        problems.push(`${source.override.name} must be ${source.override.expected}; got "${source.raw}" (${whatIsWrong(issue)}).`);
        continue;
      }
      const where = file ? `${file}: ` : '';
      if (issue.code === 'unrecognized_keys') {
        problems.push(unknownKeysProblem(issue, where));
        continue;
      }
      const key = issue.path.length ? formatPath(issue.path) : '(top level)';
      const expected = expectedAt(issue.path);
      problems.push(`${where}${key}: ${whatIsWrong(issue)}.${expected ? ` Expected ${expected}.` : ''}`);
    }
  }
  if (problems.length || !parsed.success) throw new PolicyConfigError(problems);
  return parsed.data;
}
