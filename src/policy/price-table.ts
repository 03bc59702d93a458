/**
 * Default prices in USD, used only to estimate spend for the daily spend cap — never to
 * bill or to report what Twilio charged (the message's own `price` does that, later).
 *
 * SMS: outbound price per segment by destination country, rounded from Twilio's public
 * price list (twilio.com/en-us/sms/pricing, 2025). Calls: outbound per-minute price to a
 * mobile number by destination country, rounded up from twilio.com/en-us/voice/pricing
 * (2025; mobile is the dearer of mobile and landline almost everywhere). Prices change and
 * vary by account; override them in the policy file under `prices`.
 *
 * Unknown countries use a default deliberately set high, so an unknown destination is
 * over-counted rather than under-counted: the cap is a fraud brake, not an invoice.
 */
export const DEFAULT_SMS_PRICE_PER_SEGMENT: Readonly<Record<string, number>> = {
  US: 0.0083, CA: 0.0083, GB: 0.0524, IE: 0.0839, FR: 0.0804, DE: 0.0914, ES: 0.0773, IT: 0.0878, NL: 0.1128,
  BE: 0.0998, PT: 0.0405, SE: 0.0613, NO: 0.0761, DK: 0.0513, FI: 0.0956, PL: 0.0382, AU: 0.0515, NZ: 0.1117,
  IN: 0.0832, BR: 0.0625, MX: 0.0520, JP: 0.0806, SG: 0.0489, ZA: 0.0277, IL: 0.1150, AE: 0.0613,
};
export const DEFAULT_SMS_PRICE = 0.12;

export const DEFAULT_CALL_PRICE_PER_MINUTE: Readonly<Record<string, number>> = {
  US: 0.014, CA: 0.014, GB: 0.04, IE: 0.09, FR: 0.06, DE: 0.08, ES: 0.05, IT: 0.06, NL: 0.09,
  BE: 0.1, PT: 0.06, SE: 0.04, NO: 0.05, DK: 0.04, FI: 0.1, PL: 0.03, AU: 0.06, NZ: 0.13,
  IN: 0.05, BR: 0.06, MX: 0.05, JP: 0.13, SG: 0.04, ZA: 0.11, IL: 0.05, AE: 0.2,
};
export const DEFAULT_CALL_PRICE_PER_MINUTE_UNKNOWN = 0.4;
/**
 * A call's length is unknown before it is placed; the spend cap counts this many minutes
 * unless the caller says how long the call may last (e.g. its time limit).
 */
export const DEFAULT_CALL_MINUTES_ESTIMATE = 3;

/** MMS and WhatsApp are priced per message, not per segment. */
export const DEFAULT_MMS_PRICE = 0.02;
export const DEFAULT_WHATSAPP_PRICE = 0.05;

/** The `prices` section of the policy file; every field optional, each overrides a default. */
export interface PriceOverrides {
  sms_per_segment?: Record<string, number>;
  default_sms_per_segment?: number;
  call_per_minute?: Record<string, number>;
  default_call_per_minute?: number;
  mms_per_message?: number;
  whatsapp_per_message?: number;
}

/** The defaults with the policy's overrides applied: one lookup per estimate. */
export class PriceTable {
  private readonly sms: Readonly<Record<string, number>>;
  private readonly calls: Readonly<Record<string, number>>;

  constructor(private readonly overrides: PriceOverrides = {}) {
    this.sms = { ...DEFAULT_SMS_PRICE_PER_SEGMENT, ...overrides.sms_per_segment };
    this.calls = { ...DEFAULT_CALL_PRICE_PER_MINUTE, ...overrides.call_per_minute };
  }

  smsPerSegment(country: string | undefined): number {
    return (country !== undefined ? this.sms[country] : undefined) ?? this.overrides.default_sms_per_segment ?? DEFAULT_SMS_PRICE;
  }

  callPerMinute(country: string | undefined): number {
    return (country !== undefined ? this.calls[country] : undefined) ?? this.overrides.default_call_per_minute ?? DEFAULT_CALL_PRICE_PER_MINUTE_UNKNOWN;
  }

  get mmsPerMessage(): number {
    return this.overrides.mms_per_message ?? DEFAULT_MMS_PRICE;
  }

  get whatsappPerMessage(): number {
    return this.overrides.whatsapp_per_message ?? DEFAULT_WHATSAPP_PRICE;
  }

  /** For describe(): what differs from the defaults, and the fallbacks. */
  /** `withCalls`: include call prices (only once this server can place calls). */
  summary(withCalls = true): Record<string, unknown> {
    return {
      source: 'rounded from Twilio public price lists (2025); estimates for the spend cap only',
      sms_per_segment_unlisted_country: this.overrides.default_sms_per_segment ?? DEFAULT_SMS_PRICE,
      ...(withCalls && {
        call_per_minute_unlisted_country: this.overrides.default_call_per_minute ?? DEFAULT_CALL_PRICE_PER_MINUTE_UNKNOWN,
        call_minutes_assumed: DEFAULT_CALL_MINUTES_ESTIMATE,
      }),
      mms_per_message: this.mmsPerMessage,
      whatsapp_per_message: this.whatsappPerMessage,
      overridden: {
        ...(this.overrides.sms_per_segment && Object.keys(this.overrides.sms_per_segment).length > 0 && { sms_per_segment: this.overrides.sms_per_segment }),
        ...(withCalls && this.overrides.call_per_minute && Object.keys(this.overrides.call_per_minute).length > 0 && { call_per_minute: this.overrides.call_per_minute }),
      },
    };
  }
}
