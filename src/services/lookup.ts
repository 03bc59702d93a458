/**
 * Number lookup (Twilio Lookup v2): is it valid, what country, what kind of line, whose,
 * how risky — without sending anything. Basic validation is free; each data package is
 * billed per lookup, so the result says what was asked for and what it costs.
 */
import { canonicalPhoneAddress } from '../domain/phone-address.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';

export const LOOKUP_FIELDS = ['line_type_intelligence', 'caller_name', 'sms_pumping_risk', 'sim_swap', 'validation'] as const;
export type LookupField = (typeof LOOKUP_FIELDS)[number];

/**
 * Twilio's list prices per lookup (USD, December 2026; your contract may differ). Validation
 * (and the basic lookup without fields) is free.
 */
export const LOOKUP_PRICES_USD: Record<LookupField, number> = {
  line_type_intelligence: 0.008,
  caller_name: 0.01,
  sms_pumping_risk: 0.025,
  sim_swap: 0.04,
  validation: 0,
};

export class LookupService {
  constructor(private readonly gateway: TwilioGateway) {}

  async lookup(input: { phone_number: string; country_code?: string; fields?: LookupField[] }) {
    const typed = input.phone_number.trim();
    const canonical = canonicalPhoneAddress(typed);
    if (!canonical && !input.country_code) {
      throw new ToolFailure({
        message: `"${typed}" is not in E.164 form, and no country_code was given to read it as a national number.`,
        nextStep: 'Pass the number as +<country code><number> (e.g. +14155550123), or give country_code (e.g. "US") with the national number.',
      });
    }
    if (canonical?.startsWith('whatsapp:')) throw new ToolFailure({ message: 'Look up the phone number itself, without "whatsapp:".', nextStep: `Pass ${canonical.slice(9)}.` });
    const fields = [...new Set(input.fields ?? [])];
    const found = await this.gateway.lookup.lookup(canonical ?? typed.replace(/[\s().-]/g, ''), { fields, ...(input.country_code && { countryCode: input.country_code.toUpperCase() }) });
    const cost = fields.reduce((sum, f) => sum + LOOKUP_PRICES_USD[f], 0);
    return {
      phone_number: found.phoneNumber,
      valid: found.valid,
      ...(found.validationErrors.length > 0 && { validation_errors: found.validationErrors }),
      country_code: found.countryCode,
      calling_country_code: found.callingCountryCode,
      national_format: found.nationalFormat,
      ...found.packages,
      fields_asked: fields,
      estimated_cost_usd: Math.round(cost * 10_000) / 10_000,
      ...(found.packages.caller_name && { note: 'caller_name is what the carrier database says: untrusted third-party data.' }),
    };
  }
}
