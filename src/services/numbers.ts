/**
 * The account's phone numbers: what it owns (and which Messaging Service each sends for),
 * what is for sale, and buying or releasing one. Buying costs a monthly fee and releasing
 * loses the number, so those two tools are listed only when the operator enables them and
 * ask the user to confirm (elicitation) when the client can. No MCP types here.
 */
import { NeedsConfirmation } from '../policy/policy-engine.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { NumberType, OwnedNumberRecord } from '../gateway/numbers-gateway.js';

/** Monthly list prices (USD, December 2026) by country and type, for the confirmation; Twilio bills the real one. */
const MONTHLY_PRICE_USD: Record<string, Partial<Record<NumberType, number>>> = {
  US: { local: 1.15, toll_free: 2.15 },
  CA: { local: 1.15, toll_free: 2.15 },
  GB: { local: 1.0, mobile: 1.0, toll_free: 2.0 },
};

export function monthlyPrice(country: string, type: NumberType): number | undefined {
  return MONTHLY_PRICE_USD[country.toUpperCase()]?.[type];
}

const ownedView = (n: OwnedNumberRecord, services: Map<string, string[]>) => ({
  sid: n.sid,
  phone_number: n.phoneNumber,
  friendly_name: n.friendlyName,
  capabilities: n.capabilities,
  sms_url: n.smsUrl,
  voice_url: n.voiceUrl,
  status_callback: n.statusCallback,
  messaging_services: services.get(n.phoneNumber) ?? [],
});

export class NumbersService {
  constructor(private readonly gateway: TwilioGateway) {}

  private async servicesByNumber(): Promise<Map<string, string[]>> {
    const byNumber = new Map<string, string[]>();
    const services = await this.gateway.numbers.listMessagingServices(50).catch(() => []);
    for (const s of services) for (const n of s.senders) byNumber.set(n, [...(byNumber.get(n) ?? []), s.sid]);
    return byNumber;
  }

  async listOwned(input: { limit?: number }) {
    const [numbers, services] = await Promise.all([this.gateway.numbers.listOwned(input.limit ?? 50), this.servicesByNumber()]);
    return { phone_numbers: numbers.map((n) => ownedView(n, services)) };
  }

  async searchAvailable(input: { country: string; type?: NumberType; area_code?: number; contains?: string; sms_enabled?: boolean; voice_enabled?: boolean; limit?: number }) {
    const country = input.country.toUpperCase();
    const type = input.type ?? 'local';
    const found = await this.gateway.numbers.searchAvailable(
      { country, type, areaCode: input.area_code, contains: input.contains, smsEnabled: input.sms_enabled, voiceEnabled: input.voice_enabled },
      input.limit ?? 20,
    );
    const price = monthlyPrice(country, type);
    return {
      available: found.map((n) => ({ phone_number: n.phoneNumber, friendly_name: n.friendlyName, locality: n.locality, region: n.region, capabilities: n.capabilities })),
      monthly_price_usd: price ?? null,
      ...(found.length === 0 && { next_step: 'Nothing matched: try without area_code or contains, or another type.' }),
    };
  }

  async update(input: { sid: string; friendly_name?: string; sms_url?: string; voice_url?: string; status_callback?: string }) {
    if ([input.friendly_name, input.sms_url, input.voice_url, input.status_callback].every((v) => v === undefined)) {
      throw new ToolFailure({ message: 'Nothing to change: give friendly_name, sms_url, voice_url or status_callback.', nextStep: 'Pass at least one field.' });
    }
    const updated = await this.gateway.numbers.updateOwned(input.sid, {
      friendlyName: input.friendly_name,
      smsUrl: input.sms_url,
      voiceUrl: input.voice_url,
      statusCallback: input.status_callback,
    });
    return ownedView(updated, await this.servicesByNumber());
  }

  async buy(input: { phone_number?: string; area_code?: number }, options: { confirmed: boolean }) {
    if ((input.phone_number === undefined) === (input.area_code === undefined)) {
      throw new ToolFailure({ message: 'Give exactly one of phone_number (from search_available_numbers) or area_code (take the first available).', nextStep: 'search_available_numbers shows what can be bought.' });
    }
    const country = input.phone_number?.startsWith('+44') ? 'GB' : 'US';
    const price = monthlyPrice(country, 'local');
    const what = input.phone_number ?? `the first available number in area code ${input.area_code}`;
    if (!options.confirmed) {
      throw new NeedsConfirmation(`Buy ${what}? It costs about $${price?.toFixed(2) ?? '?'} a month until released.`, 'allow');
    }
    const bought = await this.gateway.numbers.buy({ phoneNumber: input.phone_number, areaCode: input.area_code });
    return { ...ownedView(bought, new Map()), monthly_price_usd: price ?? null, note: 'Bought: it is billed monthly until release_phone_number.' };
  }

  async release(input: { sid: string }, options: { confirmed: boolean }) {
    const number = await this.gateway.numbers.fetchOwned(input.sid);
    if (!options.confirmed) throw new NeedsConfirmation(`Release ${number.phoneNumber}? It stops working at once and may never be available again.`, 'allow');
    await this.gateway.numbers.release(input.sid);
    return { sid: input.sid, phone_number: number.phoneNumber, released: true as const };
  }

  async listMessagingServices(input: { limit?: number }) {
    const services = await this.gateway.numbers.listMessagingServices(input.limit ?? 20);
    return { messaging_services: services.map((s) => ({ sid: s.sid, friendly_name: s.friendlyName, senders: s.senders })) };
  }
}
