/**
 * Phone number checks done before anything reaches Twilio.
 *
 * Spelling first (phone-address.ts: full-width digits, separators, the whatsapp: prefix),
 * then the E.164 shape ("+", country code, up to 15 digits), then libphonenumber-js
 * "possible number" (length plausible for the country). Twilio's test numbers
 * (+1500555000x) pass both: the 500 area code is a real NANP code.
 * A national number gets a suggestion in E.164 form when the sender's country makes it clear.
 *
 * This module loads libphonenumber's metadata: import it lazily (phone-address.ts does).
 */
import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js/min';
import { ToolFailure } from '../errors/tool-failure.js';
import { spellPhoneAddress, WHATSAPP_PREFIX } from './phone-address.js';

const E164 = /^\+[1-9]\d{1,14}$/;

function suggestE164(number: string, senderE164: string | undefined): string | undefined {
  if (senderE164) {
    const sender = parsePhoneNumberFromString(senderE164.replace(/^whatsapp:/i, ''));
    const candidate = !sender
      ? undefined
      : sender.country
        ? parsePhoneNumberFromString(number, sender.country)
        : parsePhoneNumberFromString(number, { defaultCallingCode: sender.countryCallingCode });
    if (candidate?.isPossible()) return candidate.number;
  }
  // "00" is the international prefix almost everywhere outside North America.
  if (/^00[1-9]\d+$/.test(number)) {
    const international = parsePhoneNumberFromString(`+${number.slice(2)}`);
    if (international?.isPossible()) return international.number;
  }
  return undefined;
}

const LENGTH_PROBLEMS: Record<string, string> = {
  TOO_SHORT: 'has too few digits for its country',
  TOO_LONG: 'has too many digits for its country',
  INVALID_COUNTRY: 'starts with a country code that does not exist',
  INVALID_LENGTH: 'has a length no number in its country has',
  NOT_A_NUMBER: 'is not a number',
};

export type PhoneCheck =
  | { ok: true; value: string }
  | { ok: false; message: string; nextStep: string; twilioCode: number; suggestion?: string };

/**
 * Judges one typed address. The single source of the refusal texts, shared by the tool
 * schemas (phone-address.ts) and requireE164, so every tool says the same thing.
 */
export function checkPhoneAddress(field: string, input: string, options: { defaultSender?: string; allowWhatsapp: boolean }): PhoneCheck {
  const twilioCode = field === 'from' ? 21212 : 21211;
  const { whatsapp, number } = spellPhoneAddress(input);
  if (whatsapp && !options.allowWhatsapp) {
    return {
      ok: false,
      twilioCode,
      message: `"${field}" takes a plain phone number, not a WhatsApp address; got "${input}".`,
      nextStep: `Drop the "whatsapp:" prefix (use send_whatsapp to message on WhatsApp).`,
    };
  }
  const prefix = whatsapp ? WHATSAPP_PREFIX : '';
  if (!E164.test(number)) {
    const found = suggestE164(number, options.defaultSender);
    const suggestion = found && `${prefix}${found}`;
    return {
      ok: false,
      twilioCode,
      message: `"${field}" must be a phone number in E.164 form (e.g. +14155550123); got "${input}".`,
      nextStep: suggestion
        ? `Did you mean ${suggestion}? Resend with "${field}": "${suggestion}".`
        : 'Add the + and the country code (e.g. +1 for the US, +44 for the UK) and remove spaces.',
      ...(suggestion && { suggestion }),
    };
  }
  const lengthProblem = validatePhoneNumberLength(number);
  if (lengthProblem) {
    return {
      ok: false,
      twilioCode,
      message: `"${field}" ${input} ${LENGTH_PROBLEMS[lengthProblem] ?? 'is not a possible phone number'}.`,
      nextStep: 'Check the digits with the person or the source; E.164 is + country code + national number.',
    };
  }
  return { ok: true, value: `${prefix}${number}` };
}

/**
 * Returns the number in E.164 form or throws a ToolFailure naming the field, what is
 * wrong, and the fix. `field` is the argument name the agent used ("to", "from").
 */
export function requireE164(field: string, input: string, senderE164?: string): string {
  const result = checkPhoneAddress(field, input, { defaultSender: senderE164, allowWhatsapp: false });
  if (result.ok) return result.value;
  throw new ToolFailure({
    message: result.message,
    twilioCode: result.twilioCode,
    nextStep: result.nextStep,
    extra: result.suggestion ? { suggestion: result.suggestion } : undefined,
  });
}

/** ISO country of an E.164 number when libphonenumber can tell (undefined for ambiguous or test ranges). */
export function countryOf(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}
