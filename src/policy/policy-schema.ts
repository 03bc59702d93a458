/**
 * The send policy: one zod schema (the single source of truth), read from a JSON file
 * (--policy FILE / TWILIO_MCP_POLICY) and overridden by environment variables for the
 * common cases. Every problem is reported with where it came from and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PolicyConfigError } from '../errors/startup-errors.js';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const numberOrPrefix = z.string().regex(/^\+\d{1,15}$/, 'must be an E.164 number or prefix, e.g. "+14155550100" or "+1900"');
const country = z.string().regex(/^([A-Z]{2}|\*)$/, 'must be an ISO country code such as "US" or "GB" (or "*" for all)');

export const PolicySchema = z
  .object({
    allowed_countries: z.array(country).min(1).optional()
      .describe('Destination countries allowed. Default: only the sender number\'s country (defence against SMS-pumping fraud). ["*"] allows all.'),
    allow_numbers: z.array(numberOrPrefix).default([]).describe('If not empty, only these numbers/prefixes may be contacted.'),
    deny_numbers: z.array(numberOrPrefix).default([]).describe('Never contact these numbers/prefixes. Wins over everything.'),
    caps: z
      .object({
        messages_per_hour: z.number().int().min(0).default(60),
        messages_per_day: z.number().int().min(0).default(500),
        calls_per_day: z.number().int().min(0).default(100),
        spend_per_day_usd: z.number().min(0).default(20),
      })
      .strict()
      .default({ messages_per_hour: 60, messages_per_day: 500, calls_per_day: 100, spend_per_day_usd: 20 }),
    quiet_hours: z
      .union([
        z.literal('off'),
        z.object({ start: z.string().regex(HHMM, 'must be HH:MM (24 h)'), end: z.string().regex(HHMM, 'must be HH:MM (24 h)') }).strict(),
      ])
      .default({ start: '21:00', end: '08:00' }),
    duplicate_window_minutes: z.number().min(0).max(24 * 60).default(10),
    dry_run: z.boolean().default(false),
    first_contact: z.enum(['allow', 'confirm', 'refuse']).default('allow'),
    first_contact_without_elicitation: z.enum(['allow', 'refuse']).default('refuse'),
    prices: z
      .object({
        sms_per_segment: z.record(z.string().regex(/^[A-Z]{2}$/), z.number().min(0)).default({}),
        default_sms_per_segment: z.number().min(0).optional(),
      })
      .strict()
      .default({ sms_per_segment: {} }),
    audit: z.object({ redact_bodies: z.boolean().default(true) }).strict().default({ redact_bodies: true }),
  })
  .strict();

export type Policy = z.infer<typeof PolicySchema>;

export { PolicyConfigError };

const truthy = (v: string) => /^(1|true|yes|on)$/i.test(v.trim());

/** Environment variables for the common cases; each overrides the file's value. */
function fromEnv(env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const caps: Record<string, unknown> = {};
  const int = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) problems.push(`${name} must be a non-negative number; got "${value}".`);
    return n;
  };
  const v = (name: string) => env[name]?.trim() || undefined;
  if (v('TWILIO_MCP_ALLOWED_COUNTRIES')) out.allowed_countries = v('TWILIO_MCP_ALLOWED_COUNTRIES')!.split(',').map((c) => c.trim().toUpperCase());
  if (v('TWILIO_MCP_ALLOW_NUMBERS')) out.allow_numbers = v('TWILIO_MCP_ALLOW_NUMBERS')!.split(',').map((c) => c.trim());
  if (v('TWILIO_MCP_DENY_NUMBERS')) out.deny_numbers = v('TWILIO_MCP_DENY_NUMBERS')!.split(',').map((c) => c.trim());
  if (v('TWILIO_MCP_MAX_MESSAGES_PER_HOUR')) caps.messages_per_hour = int('TWILIO_MCP_MAX_MESSAGES_PER_HOUR', v('TWILIO_MCP_MAX_MESSAGES_PER_HOUR')!);
  if (v('TWILIO_MCP_MAX_MESSAGES_PER_DAY')) caps.messages_per_day = int('TWILIO_MCP_MAX_MESSAGES_PER_DAY', v('TWILIO_MCP_MAX_MESSAGES_PER_DAY')!);
  if (v('TWILIO_MCP_MAX_CALLS_PER_DAY')) caps.calls_per_day = int('TWILIO_MCP_MAX_CALLS_PER_DAY', v('TWILIO_MCP_MAX_CALLS_PER_DAY')!);
  if (v('TWILIO_MCP_MAX_SPEND_PER_DAY_USD')) caps.spend_per_day_usd = int('TWILIO_MCP_MAX_SPEND_PER_DAY_USD', v('TWILIO_MCP_MAX_SPEND_PER_DAY_USD')!);
  if (Object.keys(caps).length) out.caps = caps;
  const quiet = v('TWILIO_MCP_QUIET_HOURS');
  if (quiet) {
    const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(quiet);
    if (quiet === 'off') out.quiet_hours = 'off';
    else if (m) out.quiet_hours = { start: m[1], end: m[2] };
    else problems.push(`TWILIO_MCP_QUIET_HOURS must be "HH:MM-HH:MM" (e.g. 21:00-08:00) or "off"; got "${quiet}".`);
  }
  if (v('TWILIO_MCP_DUPLICATE_WINDOW_MINUTES')) out.duplicate_window_minutes = int('TWILIO_MCP_DUPLICATE_WINDOW_MINUTES', v('TWILIO_MCP_DUPLICATE_WINDOW_MINUTES')!);
  if (v('TWILIO_MCP_DRY_RUN')) out.dry_run = truthy(v('TWILIO_MCP_DRY_RUN')!);
  if (v('TWILIO_MCP_FIRST_CONTACT')) out.first_contact = v('TWILIO_MCP_FIRST_CONTACT');
  return out;
}

export function loadPolicy(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Policy {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const file = options.file ?? (env.TWILIO_MCP_POLICY?.trim() || undefined);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new PolicyConfigError([`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Check the path given to --policy / TWILIO_MCP_POLICY.`]);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new PolicyConfigError([`${file}: not valid JSON (${(error as Error).message}).`]);
    }
  }
  const overrides = fromEnv(env, problems);
  const merged = {
    ...fromFile,
    ...overrides,
    ...(overrides.caps || fromFile.caps ? { caps: { ...(fromFile.caps as object | undefined), ...(overrides.caps as object | undefined) } } : {}),
  };
  const parsed = PolicySchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length ? issue.path.join('.') : '(top level)';
      const hint = issue.code === 'unrecognized_keys' ? ` Known keys: ${Object.keys(PolicySchema.shape).join(', ')}.` : '';
      problems.push(`${file ? `${file}: ` : ''}${where}: ${issue.message}.${hint}`);
    }
  }
  if (problems.length) throw new PolicyConfigError(problems);
  return parsed.data!;
}
