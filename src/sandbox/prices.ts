/**
 * The sandbox's ONE price table. The resources bill from it (a message's, call's,
 * recording's and transcription's `price`), the Usage Records sum what they billed, and
 * the Pricing API (pricing.ts) quotes it, so the three always agree.
 *
 * Round numbers of the order of Twilio's list prices, not Twilio's price list (USD):
 *
 * | what | +1 (US, CA, the NANP) | any other calling code |
 * | --- | --- | --- |
 * | SMS, per segment | 0.0079 | 0.0525 |
 * | MMS, per message | 0.0200 | 0.1575 (0.0525 × 3) |
 * | WhatsApp, per message | 0.0050 | 0.0050 |
 * | outbound call (incl. `<Dial>` legs), per started minute | 0.0140 | 0.1000 |
 * | inbound call, per started minute | 0.0085 | 0.0085 |
 * | recording, per started minute | 0.0025 | |
 * | transcription, per started minute | 0.0500 | |
 * | Lookup line type intelligence / caller name / SMS pumping risk / SIM swap | 0.008 / 0.01 / 0.025 / 0.05 | |
 * | Verify, per successful (approved) verification | 0.05 | |
 *
 * Inbound messages carry no price on the Messages resource (as the sandbox has always
 * answered), so nothing is billed for them and the Pricing API quotes 0 for inbound SMS.
 * A basic Lookup (no package, or `validation`) is free, as on Twilio.
 *
 * Rates are keyed by calling code: every country of a calling code pays the same (the
 * resources only ever knew "+1 or not"). Give a calling code its own entry here and the
 * resources, the usage and the Pricing API all follow.
 */

export interface DestinationRates {
  smsPerSegment: number;
  mmsPerMessage: number;
  whatsappPerMessage: number;
  voiceOutboundPerMinute: number;
  voiceInboundPerMinute: number;
}

const NANP: DestinationRates = { smsPerSegment: 0.0079, mmsPerMessage: 0.02, whatsappPerMessage: 0.005, voiceOutboundPerMinute: 0.014, voiceInboundPerMinute: 0.0085 };

/** Every calling code without an entry of its own. */
export const DEFAULT_RATES: DestinationRates = { smsPerSegment: 0.0525, mmsPerMessage: 0.0525 * 3, whatsappPerMessage: 0.005, voiceOutboundPerMinute: 0.1, voiceInboundPerMinute: 0.0085 };

export const RATES_BY_CALLING_CODE: Readonly<Record<string, DestinationRates>> = { '1': NANP };

export const RECORDING_PER_MINUTE = 0.0025;
export const TRANSCRIPTION_PER_MINUTE = 0.05;
export const VERIFICATION_SUCCESS = 0.05;
/** Inbound SMS/MMS/WhatsApp: the Messages resource bills nothing for them. */
export const INBOUND_MESSAGE = 0;

export const LOOKUP_PACKAGE_PRICES = {
  line_type_intelligence: 0.008,
  caller_name: 0.01,
  sms_pumping_risk: 0.025,
  sim_swap: 0.05,
} as const;

/** The rates of the calling code `address` (E.164, `whatsapp:` allowed) starts with: the longest match, else DEFAULT_RATES. */
export function ratesForAddress(address: string): DestinationRates {
  const digits = /^(?:whatsapp:)?\+(\d+)/.exec(address)?.[1] ?? '';
  for (let length = Math.min(3, digits.length); length > 0; length--) {
    const rates = RATES_BY_CALLING_CODE[digits.slice(0, length)];
    if (rates) return rates;
  }
  return DEFAULT_RATES;
}

export function ratesForCallingCode(callingCode: string): DestinationRates {
  return RATES_BY_CALLING_CODE[callingCode] ?? DEFAULT_RATES;
}

/** Started minutes: an answered call (or a recording) of 0 seconds still bills its first minute. */
export const startedMinutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));
