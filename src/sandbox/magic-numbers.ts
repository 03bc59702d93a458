/**
 * Twilio's documented test-credential magic numbers for Messages
 * (https://www.twilio.com/docs/iam/test-credentials), applied exactly: each answers
 * HTTP 400 with the documented code. A `whatsapp:` prefix does not hide a magic number.
 */
import { TwilioError } from './wire.js';

type Refusal = [code: number, message: (from: string, to: string) => string];

const MAGIC_TO: Record<string, Refusal> = {
  '+15005550001': [21211, (_, to) => `The 'To' number ${to} is not a valid phone number.`],
  '+15005550002': [21612, (from, to) => `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number: ${from} via SMS.`],
  '+15005550003': [21408, (_, to) => `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`],
  '+15005550004': [21610, () => 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, (_, to) => `'To' number ${to} is not a valid mobile number`],
};

const MAGIC_FROM: Record<string, Refusal> = {
  '+15005550001': [21212, (from) => `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`],
  '+15005550007': [21606, (from) => `The 'From' phone number provided (${from}) is not a valid message-capable Twilio phone number for this destination/account.`],
  '+15005550008': [21611, () => "This 'From' number has exceeded the maximum number of queued messages"],
};

const strip = (n: string) => n.replace(/^whatsapp:/, '');

/** Throws the documented error for a magic From or To; From is checked first. */
export function applyMagicNumbers(from: string | undefined, to: string): void {
  const byFrom = from ? MAGIC_FROM[strip(from)] : undefined;
  if (byFrom) throw new TwilioError(400, byFrom[0], byFrom[1](from!, to));
  const byTo = MAGIC_TO[strip(to)];
  if (byTo) throw new TwilioError(400, byTo[0], byTo[1](from ?? '', to));
}

/**
 * The same page's magic numbers for Calls: From +15005550001 is an invalid caller ID
 * (21212); To +15005550001 is invalid (21217), +15005550002 cannot be routed (21214),
 * +15005550003 lacks the international permission (21215), +15005550004 is blocked
 * (21216). A From other than the account's own numbers is 21210, checked in
 * call-validation.ts after these.
 */
const MAGIC_CALL_TO: Record<string, Refusal> = {
  '+15005550001': [21217, (_, to) => `Phone number ${to} does not appear to be valid.`],
  '+15005550002': [21214, (_, to) => `'To' phone number ${to} cannot be reached.`],
  '+15005550003': [21215, (_, to) => `Account not authorized to call ${to}. Perhaps you need to enable some international permissions.`],
  '+15005550004': [21216, (_, to) => `Account not allowed to call ${to}.`],
};

const MAGIC_CALL_FROM: Record<string, Refusal> = {
  '+15005550001': [21212, (from) => `The 'From' phone number provided (${from}) is not a valid phone number.`],
};

/** Throws the documented error for a magic From or To of a call; From is checked first. */
export function applyCallMagicNumbers(from: string, to: string): void {
  const byFrom = MAGIC_CALL_FROM[from];
  if (byFrom) throw new TwilioError(400, byFrom[0], byFrom[1](from, to));
  const byTo = MAGIC_CALL_TO[to];
  if (byTo) throw new TwilioError(400, byTo[0], byTo[1](from, to));
}
