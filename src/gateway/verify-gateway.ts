/**
 * Verify v2 (verify.twilio.com): services, verifications, checks. Part of the gateway: it
 * gets the shared SDK access from twilio-gateway.ts and returns plain records. The code a
 * person receives never passes through here: Twilio generates and delivers it.
 */
import type { SdkCall } from './voice-gateway.js';

export interface VerifyServiceRecord {
  sid: string;
  friendlyName: string;
  codeLength: number | null;
}

export interface VerificationRecord {
  sid: string;
  serviceSid: string;
  to: string;
  channel: string;
  status: string;
  valid: boolean;
  sendCodeAttempts: number;
  dateCreated: Date | null;
}

export interface VerifyGateway {
  listServices(limit: number): Promise<VerifyServiceRecord[]>;
  createService(friendlyName: string): Promise<VerifyServiceRecord>;
  startVerification(serviceSid: string, request: { to: string; channel: string; locale?: string }): Promise<VerificationRecord>;
  /** `to` or a verification SID (VE…); status approved or pending. */
  checkVerification(serviceSid: string, request: { to: string; code: string }): Promise<VerificationRecord>;
  cancelVerification(serviceSid: string, sidOrTo: string): Promise<VerificationRecord>;
}

type SdkVerification = { sid: string; serviceSid: string; to: string; channel: string; status: string; valid: boolean; sendCodeAttempts?: unknown[]; dateCreated?: Date };
const toVerification = (v: SdkVerification): VerificationRecord => ({
  sid: v.sid,
  serviceSid: v.serviceSid,
  to: v.to,
  channel: v.channel,
  status: v.status,
  valid: Boolean(v.valid),
  sendCodeAttempts: Array.isArray(v.sendCodeAttempts) ? v.sendCodeAttempts.length : 0,
  dateCreated: v.dateCreated ?? null,
});

export function createVerifyGateway(call: SdkCall): VerifyGateway {
  return {
    listServices: (limit) =>
      call(async (c) => (await c.verify.v2.services.list({ limit })).map((s) => ({ sid: s.sid, friendlyName: s.friendlyName, codeLength: s.codeLength ?? null }))),
    createService: (friendlyName) =>
      call(async (c) => {
        const s = await c.verify.v2.services.create({ friendlyName });
        return { sid: s.sid, friendlyName: s.friendlyName, codeLength: s.codeLength ?? null };
      }),
    startVerification: (serviceSid, r) =>
      call(async (c) =>
        toVerification(
          (await c.verify.v2.services(serviceSid).verifications.create({ to: r.to, channel: r.channel, ...(r.locale && { locale: r.locale }) })) as unknown as SdkVerification,
        ),
      ),
    checkVerification: (serviceSid, r) =>
      call(async (c) => toVerification((await c.verify.v2.services(serviceSid).verificationChecks.create({ to: r.to, code: r.code })) as unknown as SdkVerification)),
    cancelVerification: (serviceSid, sidOrTo) =>
      call(async (c) => toVerification((await c.verify.v2.services(serviceSid).verifications(sidOrTo).update({ status: 'canceled' })) as unknown as SdkVerification)),
  };
}
