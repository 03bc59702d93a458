/**
 * Configuration from the environment, validated once at start-up.
 *
 * Each variable has its own zod schema with a message that says what is wrong and how
 * to fix it; `loadConfig` collects every problem at once so a user fixes them in one go.
 * Secrets are never echoed in those messages.
 */
import { z } from 'zod';
import { ConfigError } from '../errors/startup-errors.js';

const accountSid = z
  .string()
  .regex(/^AC[0-9a-fA-F]{32}$/, 'must be "AC" followed by 32 hex characters (copy it from the Twilio Console home page)');
const apiKeySid = z
  .string()
  .regex(/^SK[0-9a-fA-F]{32}$/, 'must be "SK" followed by 32 hex characters (Console → Account → API keys)');
const secret = z.string().min(16, 'is too short to be a Twilio secret; paste the whole value from the Console');
const e164 = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +14155550123 (plus sign, country code, no spaces)');
const whatsappNumber = z
  .string()
  .regex(/^(whatsapp:)?\+[1-9]\d{6,14}$/, 'must be a WhatsApp sender such as whatsapp:+14155550123');
const messagingServiceSid = z
  .string()
  .regex(/^MG[0-9a-fA-F]{32}$/, 'must be "MG" followed by 32 hex characters (Console → Messaging → Services)');
const httpsUrl = z
  .string()
  .url('must be an absolute URL such as https://example.com/twilio/status')
  .refine((u) => /^https?:\/\//.test(u), 'must start with https:// (or http:// for local testing)');
const region = z.string().regex(/^[a-z]{2}\d$/, 'must be a Twilio region code such as us1, ie1 or au1');
const edge = z.string().regex(/^[a-z-]+$/, 'must be a Twilio edge name such as ashburn, dublin or sydney');
const timeoutSeconds = z.coerce
  .number({ message: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1 second')
  .max(600, 'must be at most 600 seconds');

const EnvSchema = z.object({
  TWILIO_ACCOUNT_SID: accountSid.optional(),
  TWILIO_AUTH_TOKEN: secret.optional(),
  TWILIO_API_KEY: apiKeySid.optional(),
  TWILIO_API_SECRET: secret.optional(),
  TWILIO_PHONE_NUMBER: e164.optional(),
  TWILIO_MESSAGING_SERVICE_SID: messagingServiceSid.optional(),
  TWILIO_VERIFY_SERVICE_SID: z
    .string()
    .trim()
    .regex(/^VA[0-9a-fA-F]{32}$/, 'must be a Verify service SID: "VA" followed by 32 hex characters (Console → Verify → Services)')
    .optional(),
  TWILIO_WHATSAPP_NUMBER: whatsappNumber.optional(),
  TWILIO_REGION: region.optional(),
  TWILIO_EDGE: edge.optional(),
  TWILIO_TIMEOUT: timeoutSeconds.optional(),
  TWILIO_STATUS_CALLBACK_URL: httpsUrl.optional(),
  TWILIO_MCP_API_BASE_URL: httpsUrl.optional(),
  TWILIO_WEBHOOK_URL: httpsUrl.optional(),
});

export type EnvInput = z.input<typeof EnvSchema>;

export interface Credentials {
  accountSid: string;
  /** Basic-auth user: the account SID, or an API key SID. */
  username: string;
  password: string;
}

export interface TwilioConfig {
  /** Live credentials, or undefined when none are set (the sandbox is then used). */
  credentials: Credentials | undefined;
  defaultFrom: string | undefined;
  messagingServiceSid: string | undefined;
  /** TWILIO_VERIFY_SERVICE_SID; without it the server finds or makes its own service. */
  verifyServiceSid: string | undefined;
  whatsappFrom: string | undefined;
  statusCallbackUrl: string | undefined;
  region: string | undefined;
  edge: string | undefined;
  timeoutMs: number;
  /**
   * Send every Twilio request to this base URL instead of Twilio's hosts, with the
   * configured credentials: for a sandbox run as its own process (`mcp-server-twilio sandbox`).
   */
  apiBaseUrl: string | undefined;
  /** Public base URL Twilio calls for webhooks; signatures are checked against it. */
  webhookUrl: string | undefined;
}

export { ConfigError };

/** Empty strings count as unset: shells and .env files often export `VAR=`. */
function pickTwilioVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key]?.trim();
    if (value) picked[key] = value;
  }
  return picked;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): TwilioConfig {
  const parsed = EnvSchema.safeParse(pickTwilioVariables(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}.`),
    );
  }
  const v = parsed.data;
  const problems: string[] = [];
  let credentials: Credentials | undefined;

  if (v.TWILIO_API_KEY || v.TWILIO_API_SECRET) {
    if (!v.TWILIO_API_KEY) problems.push('TWILIO_API_SECRET is set but TWILIO_API_KEY is not: set both, or neither.');
    if (!v.TWILIO_API_SECRET) problems.push('TWILIO_API_KEY is set but TWILIO_API_SECRET is not: set both, or neither.');
    if (!v.TWILIO_ACCOUNT_SID)
      problems.push('TWILIO_API_KEY needs TWILIO_ACCOUNT_SID too: an API key authenticates, the account SID says which account.');
    if (v.TWILIO_API_KEY && v.TWILIO_API_SECRET && v.TWILIO_ACCOUNT_SID) {
      credentials = { accountSid: v.TWILIO_ACCOUNT_SID, username: v.TWILIO_API_KEY, password: v.TWILIO_API_SECRET };
    }
  } else if (v.TWILIO_ACCOUNT_SID || v.TWILIO_AUTH_TOKEN) {
    if (!v.TWILIO_ACCOUNT_SID) problems.push('TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not: set both, or neither to use the sandbox.');
    if (!v.TWILIO_AUTH_TOKEN)
      problems.push('TWILIO_ACCOUNT_SID is set but neither TWILIO_AUTH_TOKEN nor TWILIO_API_KEY/TWILIO_API_SECRET is: add one, or unset it to use the sandbox.');
    if (v.TWILIO_ACCOUNT_SID && v.TWILIO_AUTH_TOKEN) {
      credentials = { accountSid: v.TWILIO_ACCOUNT_SID, username: v.TWILIO_ACCOUNT_SID, password: v.TWILIO_AUTH_TOKEN };
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  let whatsappFrom = v.TWILIO_WHATSAPP_NUMBER;
  if (whatsappFrom && !whatsappFrom.startsWith('whatsapp:')) whatsappFrom = `whatsapp:${whatsappFrom}`;

  return {
    credentials,
    defaultFrom: v.TWILIO_PHONE_NUMBER,
    messagingServiceSid: v.TWILIO_MESSAGING_SERVICE_SID,
    verifyServiceSid: v.TWILIO_VERIFY_SERVICE_SID,
    whatsappFrom,
    statusCallbackUrl: v.TWILIO_STATUS_CALLBACK_URL,
    region: v.TWILIO_REGION,
    edge: v.TWILIO_EDGE,
    timeoutMs: (v.TWILIO_TIMEOUT ?? 30) * 1000,
    apiBaseUrl: v.TWILIO_MCP_API_BASE_URL?.replace(/\/+$/, ''),
    webhookUrl: v.TWILIO_WEBHOOK_URL?.replace(/\/+$/, ''),
  };
}
