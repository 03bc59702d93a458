/**
 * Phone number checks done before anything reaches Twilio.
 *
 * Shape first (E.164: "+", country code, up to 15 digits), then libphonenumber-js
 * "possible number" (length plausible for the country). Twilio's test numbers
 * (+1500555000x) pass both: the 500 area code is a real NANP code.
 * A national number gets a suggestion in E.164 form when the sender's country makes it clear.
 */
import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js/min';
import { ToolFailure } from '../errors/tool-failure.js';

const E164 = /^\+[1-9]\d{1,14}$/;

/** Strips the separators people type ("+1 (415) 555-0123") without changing the digits. */
function compact(input: string): string {
  return input.trim().replace(/[\s().-]/g, '');
}

function suggestE164(input: string, senderE164: string | undefined): string | undefined {
  if (!senderE164) return undefined;
  const sender = parsePhoneNumberFromString(senderE164);
  if (!sender) return undefined;
  const candidate = sender.country
    ? parsePhoneNumberFromString(input, sender.country)
    : parsePhoneNumberFromString(input, { defaultCallingCode: sender.countryCallingCode });
  return candidate?.isPossible() ? candidate.number : undefined;
}

/**
 * Returns the number in E.164 form or throws a ToolFailure naming the field, what is
 * wrong, and the fix. `field` is the argument name the agent used ("to", "from").
 */
export function requireE164(field: string, input: string, senderE164?: string): string {
  const value = compact(input);
  if (!E164.test(value)) {
    const suggestion = suggestE164(value, senderE164);
    throw new ToolFailure({
      message: `"${field}" must be a phone number in E.164 form (e.g. +14155550123); got "${input}".`,
      twilioCode: field === 'from' ? 21212 : 21211,
      nextStep: suggestion
        ? `Did you mean ${suggestion}? Resend with "${field}": "${suggestion}".`
        : 'Add the + and the country code (e.g. +1 for the US, +44 for the UK) and remove spaces.',
      extra: suggestion ? { suggestion } : undefined,
    });
  }
  const lengthProblem = validatePhoneNumberLength(value);
  if (lengthProblem) {
    const why: Record<string, string> = {
      TOO_SHORT: 'has too few digits for its country',
      TOO_LONG: 'has too many digits for its country',
      INVALID_COUNTRY: 'starts with a country code that does not exist',
      INVALID_LENGTH: 'has a length no number in its country has',
      NOT_A_NUMBER: 'is not a number',
    };
    throw new ToolFailure({
      message: `"${field}" ${input} ${why[lengthProblem] ?? 'is not a possible phone number'}.`,
      twilioCode: field === 'from' ? 21212 : 21211,
      nextStep: 'Check the digits with the person or the source; E.164 is + country code + national number.',
    });
  }
  return value;
}

/** ISO country of an E.164 number when libphonenumber can tell (undefined for ambiguous or test ranges). */
export function countryOf(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}
