/**
 * Lookup v2 (lookups.twilio.com): one number, with the data packages asked for. Part of
 * the gateway. Package bodies are passed on as Twilio shapes them (snake_case objects).
 */
import type { SdkCall } from './voice-gateway.js';

export interface LookupRecord {
  phoneNumber: string;
  valid: boolean;
  validationErrors: string[];
  countryCode: string | null;
  callingCountryCode: string | null;
  nationalFormat: string | null;
  /** Present only for the packages asked for; null when Twilio had no data. */
  packages: Record<string, Record<string, unknown> | null>;
}

export interface LookupGateway {
  lookup(phoneNumber: string, options: { fields: string[]; countryCode?: string }): Promise<LookupRecord>;
}

/** Twilio's field name → the SDK instance property carrying it. */
const PACKAGE_PROPERTY: Record<string, string> = {
  line_type_intelligence: 'lineTypeIntelligence',
  caller_name: 'callerName',
  sms_pumping_risk: 'smsPumpingRisk',
  sim_swap: 'simSwap',
  validation: 'validation',
};

export function createLookupGateway(call: SdkCall): LookupGateway {
  return {
    lookup: (phoneNumber, options) =>
      call(async (c) => {
        const found = (await c.lookups.v2.phoneNumbers(phoneNumber).fetch({
          ...(options.fields.length > 0 && { fields: options.fields.join(',') }),
          ...(options.countryCode && { countryCode: options.countryCode }),
        })) as unknown as Record<string, unknown>;
        const packages: LookupRecord['packages'] = {};
        for (const field of options.fields) {
          if (field === 'validation') continue; // validity and its errors are top-level fields
          packages[field] = (found[PACKAGE_PROPERTY[field] ?? field] as Record<string, unknown> | null | undefined) ?? null;
        }
        return {
          phoneNumber: String(found.phoneNumber ?? phoneNumber),
          valid: Boolean(found.valid),
          validationErrors: Array.isArray(found.validationErrors) ? (found.validationErrors as unknown[]).map(String) : [],
          countryCode: (found.countryCode as string | null | undefined) ?? null,
          callingCountryCode: (found.callingCountryCode as string | null | undefined) ?? null,
          nationalFormat: (found.nationalFormat as string | null | undefined) ?? null,
          packages,
        };
      }),
  };
}
