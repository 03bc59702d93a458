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
