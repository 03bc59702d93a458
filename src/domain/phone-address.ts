/**
 * The one phone-address type of every tool parameter that names a number ("to", "from",
 * "recipient", "phone_number", list filters, ...), and the one spelling rule behind it.
 *
 * Spelling (pure, sync, no libphonenumber): NFKC folds full-width digits, plus, colon and
 * brackets to ASCII; the `whatsapp:` prefix is accepted in any case and written lowercase;
 * spaces, dashes, dots and parentheses are dropped. What is left must be "+" and up to 15
 * digits. Judging the number (a possible length for its country, a suggestion for a
 * national number) needs libphonenumber's metadata, which must not load at start-up: the
 * zod type therefore validates asynchronously and imports ./phone.js on first use.
 */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import type { PhoneCheck } from './phone.js';

export const WHATSAPP_PREFIX = 'whatsapp:';
const E164 = /^\+[1-9]\d{1,14}$/;
/** Separators people type between digits; the Unicode dashes are what word processors produce. */
const SEPARATORS = /[\s().\-\u2010-\u2015\u2212]/g;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** What was typed, folded to ASCII and split into channel and number (not yet judged). */
export interface PhoneSpelling {
  whatsapp: boolean;
  /** Digits with a leading "+" if one was typed; separators removed. */
  number: string;
}

export function spellPhoneAddress(raw: string): PhoneSpelling {
  let text = raw.normalize('NFKC').trim();
  const whatsapp = text.toLowerCase().startsWith(WHATSAPP_PREFIX);
  if (whatsapp) text = text.slice(WHATSAPP_PREFIX.length);
  return { whatsapp, number: text.replace(SEPARATORS, '') };
}

/**
 * The canonical form of a stored or typed address: "+E164" or "whatsapp:+E164", or
 * undefined when the spelling alone cannot make it canonical (no "+", letters, too many
 * digits). For the store migration: sync and metadata-free, so it gives no suggestion and
 * does not judge the length for the country (the tool schema does, before anything is stored).
 */
export function canonicalPhoneAddress(raw: string): string | undefined {
  const { whatsapp, number } = spellPhoneAddress(raw);
  if (!E164.test(number)) return undefined;
  return whatsapp ? `${WHATSAPP_PREFIX}${number}` : number;
}

export interface PhoneDefaults {
  /** The default sender (E.164 or whatsapp:+E164): its country is the one a national number is read in. */
  defaultSender?: string;
}

let defaults: PhoneDefaults = {};

/**
 * Set once at start-up by the composition root (the default sender is configuration).
 * Without it a national number is still refused, with a generic fix instead of a suggestion.
 */
export function configurePhoneDefaults(next: PhoneDefaults): void {
  const sender = next.defaultSender === undefined ? undefined : canonicalPhoneAddress(next.defaultSender);
  defaults = { defaultSender: sender?.replace(WHATSAPP_PREFIX, '') };
}

export function phoneDefaults(): Readonly<PhoneDefaults> {
  return defaults;
}

const phoneRules = lazy(() => import('./phone.js'));

export interface PhoneAddressOptions {
  /** false for parameters that can only be a plain number (an SMS sender or recipient, a Twilio number's configuration). */
  whatsapp?: boolean;
}

type Ctx = z.core.$RefinementCtx<string>;

/**
 * The one judgement of a typed address, for the zod types below and for callers that judge
 * many at once and must not fail on one (campaign rows): libphonenumber's metadata is
 * loaded on first use, and a national number is read in the default sender's country.
 */
export async function judgePhoneAddress(field: string, raw: string, options: PhoneAddressOptions = {}): Promise<PhoneCheck> {
  const { checkPhoneAddress } = await phoneRules();
  return checkPhoneAddress(field, raw, { defaultSender: defaults.defaultSender, allowWhatsapp: options.whatsapp ?? true });
}

async function resolvePhone(field: string, raw: string, ctx: Ctx, options: PhoneAddressOptions): Promise<string> {
  const result = await judgePhoneAddress(field, raw, options);
  if (result.ok) return result.value;
  ctx.issues.push({
    code: 'custom',
    message: `${result.message} ${result.nextStep}`,
    input: raw,
    ...(result.suggestion && { params: { suggestion: result.suggestion } }),
  });
  return z.NEVER;
}

/**
 * The zod type of a phone-address parameter named `field` (the name appears in the
 * refusal, so the agent can resend exactly what it is told). Yields canonical E.164 or
 * `whatsapp:+E164`; a national number is refused with "Did you mean +1…?" and, for
 * in-process callers, `params.suggestion` on the issue.
 */
export function phoneAddress(field: string, options: PhoneAddressOptions = {}) {
  return z
    .string()
    .max(64, 'is too long for a phone number')
    .transform((raw, ctx) => resolvePhone(field, raw, ctx, options));
}

/**
 * An opt-out's sender: one of the account's numbers (the phone-address type) or a
 * Messaging Service SID (hex lowercased, as Twilio writes SIDs). Leaving it out means
 * every sender; an empty, "*" or malformed value is refused rather than stored as a
 * scope that matches nothing.
 */
export function senderAddress(field = 'sender') {
  return z
    .string()
    .max(64, 'is too long for a sender')
    .transform((raw, ctx) => {
      const value = raw.normalize('NFKC').trim();
      const refuse = (message: string) => {
        ctx.issues.push({ code: 'custom', message, input: raw });
        return z.NEVER;
      };
      if (value === '' || value === '*' || /^all( senders)?$/i.test(value)) {
        return refuse(
          `"${field}" ${value === '' ? 'is empty' : `"${value}" is not a sender`}: leave "${field}" out to cover every sender (the default), or give one of your numbers (E.164) or a Messaging Service SID (MG + 32 hex).`,
        );
      }
      if (/^MG/i.test(value)) {
        if (MESSAGING_SERVICE_SID.test(value)) return `MG${value.slice(2).toLowerCase()}`;
        return refuse(`"${field}" looks like a Messaging Service SID but is not one: it is "MG" followed by 32 hex characters; got "${value}".`);
      }
      return resolvePhone(field, raw, ctx, { whatsapp: true });
    });
}

/**
 * A parameter that is either a phone address (judged by the one normaliser, `whatsapp:`
 * accepted) or, when `isOther` says so of the folded text, something else passed as given.
 */
function phoneAddressOr(field: string, isOther: (value: string) => boolean, length: { min?: number; max: number }) {
  const text = length.min === undefined ? z.string() : z.string().min(length.min);
  return text
    .max(length.max)
    .transform((raw, ctx) => {
      const value = raw.normalize('NFKC').trim();
      return isOther(value) ? value : resolvePhone(field, raw, ctx, { whatsapp: true });
    });
}

/**
 * A Verify recipient: an email address (it has an "@"; the service checks it against the
 * channel) or a phone address, so a national number gets the same "Did you mean +1…?" as
 * send_sms. The whatsapp: prefix is accepted (channel whatsapp).
 */
export const phoneOrEmailAddress = (field: string) => phoneAddressOr(field, (value) => value.includes('@'), { min: 3, max: 254 });

/** A Conversations participant address or proxy address: `messenger:…` as given, otherwise a phone address (SMS or whatsapp:). */
export const conversationAddress = (field: string) => phoneAddressOr(field, (value) => /^messenger:/i.test(value), { max: 256 });

/** A Messaging Service SID parameter: "MG" + 32 hex, hex lowercased so stored keys compare equal. */
export function messagingServiceSid() {
  return z
    .string()
    .regex(MESSAGING_SERVICE_SID, 'must be "MG" followed by 32 hex characters')
    .transform((value) => `MG${value.slice(2).toLowerCase()}`);
}
