/**
 * Phone numbers (api.twilio.com 2010-04-01): owned numbers, the numbers for sale, buying
 * and releasing; and Messaging Services with their sender pools (messaging.twilio.com v1).
 * Part of the gateway.
 */
import type { SdkCall } from './voice-gateway.js';

export interface OwnedNumberRecord {
  sid: string;
  phoneNumber: string;
  friendlyName: string | null;
  capabilities: { sms: boolean; mms: boolean; voice: boolean };
  smsUrl: string | null;
  voiceUrl: string | null;
  statusCallback: string | null;
  dateCreated: Date | null;
}

export interface AvailableNumberRecord {
  phoneNumber: string;
  friendlyName: string | null;
  locality: string | null;
  region: string | null;
  isoCountry: string;
  capabilities: { sms: boolean; mms: boolean; voice: boolean };
}

export interface MessagingServiceRecord {
  sid: string;
  friendlyName: string;
  senders: string[];
}

export type NumberType = 'local' | 'mobile' | 'toll_free';

export interface NumbersGateway {
  listOwned(limit: number): Promise<OwnedNumberRecord[]>;
  searchAvailable(filter: { country: string; type: NumberType; areaCode?: number; contains?: string; smsEnabled?: boolean; voiceEnabled?: boolean }, limit: number): Promise<AvailableNumberRecord[]>;
  updateOwned(sid: string, change: { friendlyName?: string; smsUrl?: string; voiceUrl?: string; statusCallback?: string }): Promise<OwnedNumberRecord>;
  buy(request: { phoneNumber?: string; areaCode?: number }): Promise<OwnedNumberRecord>;
  release(sid: string): Promise<void>;
  fetchOwned(sid: string): Promise<OwnedNumberRecord>;
  listMessagingServices(limit: number): Promise<MessagingServiceRecord[]>;
}

type Caps = { sms?: boolean; mms?: boolean; voice?: boolean; SMS?: boolean; MMS?: boolean } | undefined;
const caps = (c: Caps) => ({ sms: Boolean(c?.sms ?? c?.SMS), mms: Boolean(c?.mms ?? c?.MMS), voice: Boolean(c?.voice) });

type SdkOwned = { sid: string; phoneNumber: string; friendlyName?: string; capabilities?: Caps; smsUrl?: string; voiceUrl?: string; statusCallback?: string; dateCreated?: Date };
const toOwned = (n: SdkOwned): OwnedNumberRecord => ({
  sid: n.sid,
  phoneNumber: n.phoneNumber,
  friendlyName: n.friendlyName ?? null,
  capabilities: caps(n.capabilities),
  smsUrl: n.smsUrl || null,
  voiceUrl: n.voiceUrl || null,
  statusCallback: n.statusCallback || null,
  dateCreated: n.dateCreated ?? null,
});

type SdkAvailable = { phoneNumber: string; friendlyName?: string; locality?: string; region?: string; isoCountry: string; capabilities?: Caps };
const toAvailable = (n: SdkAvailable): AvailableNumberRecord => ({
  phoneNumber: n.phoneNumber,
  friendlyName: n.friendlyName ?? null,
  locality: n.locality || null,
  region: n.region || null,
  isoCountry: n.isoCountry,
  capabilities: caps(n.capabilities),
});

export function createNumbersGateway(call: SdkCall): NumbersGateway {
  return {
    listOwned: (limit) => call(async (c) => (await c.incomingPhoneNumbers.list({ limit })).map((n) => toOwned(n as unknown as SdkOwned))),
    searchAvailable: (f, limit) =>
      call(async (c) => {
        const country = c.availablePhoneNumbers(f.country);
        const options = {
          limit,
          ...(f.areaCode !== undefined && { areaCode: f.areaCode }),
          ...(f.contains && { contains: f.contains }),
          ...(f.smsEnabled !== undefined && { smsEnabled: f.smsEnabled }),
          ...(f.voiceEnabled !== undefined && { voiceEnabled: f.voiceEnabled }),
        };
        const list = f.type === 'mobile' ? await country.mobile.list(options) : f.type === 'toll_free' ? await country.tollFree.list(options) : await country.local.list(options);
        return list.map((n) => toAvailable(n as unknown as SdkAvailable));
      }),
    updateOwned: (sid, change) =>
      call(async (c) =>
        toOwned(
          (await c.incomingPhoneNumbers(sid).update({
            ...(change.friendlyName !== undefined && { friendlyName: change.friendlyName }),
            ...(change.smsUrl !== undefined && { smsUrl: change.smsUrl, smsMethod: 'POST' }),
            ...(change.voiceUrl !== undefined && { voiceUrl: change.voiceUrl, voiceMethod: 'POST' }),
            ...(change.statusCallback !== undefined && { statusCallback: change.statusCallback, statusCallbackMethod: 'POST' }),
          })) as unknown as SdkOwned,
        ),
      ),
    buy: (r) =>
      call(async (c) =>
        toOwned((await c.incomingPhoneNumbers.create(r.phoneNumber ? { phoneNumber: r.phoneNumber } : { areaCode: String(r.areaCode) })) as unknown as SdkOwned),
      ),
    release: (sid) =>
      call(async (c) => {
        await c.incomingPhoneNumbers(sid).remove();
      }),
    fetchOwned: (sid) => call(async (c) => toOwned((await c.incomingPhoneNumbers(sid).fetch()) as unknown as SdkOwned)),
    listMessagingServices: (limit) =>
      call(async (c) => {
        const services = await c.messaging.v1.services.list({ limit });
        return Promise.all(
          services.map(async (s) => ({
            sid: s.sid,
            friendlyName: s.friendlyName,
            senders: (await c.messaging.v1.services(s.sid).phoneNumbers.list({ limit: 400 })).map((n) => n.phoneNumber),
          })),
        );
      }),
  };
}
