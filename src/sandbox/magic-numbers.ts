/**
 * Twilio's documented test-credential magic numbers for Messages
 * (https://www.twilio.com/docs/iam/test-credentials), applied exactly: each answers
 * HTTP 400 with the documented code.
 */
import { TwilioError } from './wire.js';


const MAGIC_TO: Record<string, [number, string]> = {
  '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
  '+15005550002': [21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number: via SMS."],
  '+15005550003': [21408, 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number: +15005550003.'],
  '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, "'To' number is not a valid mobile number"],
};

const MAGIC_FROM: Record<string, [number, string]> = {
  '+15005550001': [21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID."],
  '+15005550007': [21606, "The 'From' phone number provided (+15005550007) is not a valid message-capable Twilio phone number for this destination/account."],
  '+15005550008': [21611, "This 'From' number has exceeded the maximum number of queued messages"],
};

const strip = (n: string) => n.replace(/^whatsapp:/, '');

/** Throws the documented error for a magic From or To; From is checked first, as Twilio does. */
export function applyMagicNumbers(from: string | undefined, to: string): void {
  const byFrom = from ? MAGIC_FROM[strip(from)] : undefined;
  if (byFrom) throw new TwilioError(400, byFrom[0], byFrom[1]);
  const byTo = MAGIC_TO[strip(to)];
  if (byTo) throw new TwilioError(400, byTo[0], byTo[1]);
}
