/**
 * Verification (2FA) through Twilio Verify: Twilio generates the code and delivers it; this
 * server never sees it, so an agent cannot leak or invent one. Starting a verification goes
 * through the send pipeline (it reaches a person and is billed). No MCP types here.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { VerificationRecord } from '../gateway/verify-gateway.js';
import type { SendPipeline } from '../pipeline/send-pipeline.js';
import { lazy } from '../util/lazy.js';
import { log } from '../util/log.js';

const phone = lazy(() => import('../domain/phone.js'));

/** The name of the Verify service this server makes when none is configured. */
export const OWN_VERIFY_SERVICE_NAME = 'mcp-server-twilio';
/** Twilio Verify's per-verification price (USD), for the spend cap; channel fees come on top. */
export const VERIFY_PRICE_USD = 0.05;
/** Twilio allows 5 check attempts per verification (then 60202). */
const MAX_CHECKS = 5;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type VerifyChannel = 'sms' | 'call' | 'whatsapp' | 'email';

export interface VerificationView {
  verification_sid: string;
  service_sid: string;
  to: string;
  channel: string;
  status: string;
  send_attempts: number;
}

export class VerifyService {
  private ownService: Promise<string> | undefined;
  /** Checks made per verification since it started (Twilio does not report them). */
  private readonly checks = new Map<string, number>();

  constructor(
    private readonly gateway: TwilioGateway,
    private readonly pipeline: SendPipeline,
    private readonly configuredService: string | undefined,
  ) {}

  /** The service to use: given, configured, or this server's own (found by name, else made once). */
  private serviceSid(given: string | undefined): Promise<string> {
    if (given) return Promise.resolve(given);
    if (this.configuredService) return Promise.resolve(this.configuredService);
    this.ownService ??= (async () => {
      const existing = (await this.gateway.verify.listServices(100)).find((s) => s.friendlyName === OWN_VERIFY_SERVICE_NAME);
      if (existing) return existing.sid;
      const made = await this.gateway.verify.createService(OWN_VERIFY_SERVICE_NAME);
      log.info(`Verify: created service ${made.sid} ("${OWN_VERIFY_SERVICE_NAME}"); set TWILIO_VERIFY_SERVICE_SID=${made.sid} to name it yourself`);
      return made.sid;
    })();
    // A failure is not remembered: the next call tries again.
    this.ownService.catch(() => (this.ownService = undefined));
    return this.ownService;
  }

  private async recipient(to: string, channel: VerifyChannel): Promise<string> {
    if (channel === 'email') {
      const email = to.trim().toLowerCase();
      if (!EMAIL.test(email)) throw new ToolFailure({ message: `"${to}" is not an email address, and channel "email" needs one.`, twilioCode: 60200, nextStep: 'Pass the address, e.g. ada@example.com, or use channel sms/call/whatsapp with a phone number.' });
      return email;
    }
    const { requireE164 } = await phone();
    return requireE164('to', to.replace(/^whatsapp:/i, ''));
  }

  private view(v: VerificationRecord): VerificationView {
    return { verification_sid: v.sid, service_sid: v.serviceSid, to: v.to, channel: v.channel, status: v.status, send_attempts: v.sendCodeAttempts };
  }

  async start(input: { to: string; channel: VerifyChannel; locale?: string; service_sid?: string }) {
    const to = await this.recipient(input.to, input.channel);
    const serviceSid = await this.serviceSid(input.service_sid);
    const outcome = await this.pipeline.sendVerification({ to, channel: input.channel, serviceSid, estimatedCost: VERIFY_PRICE_USD }, () =>
      this.gateway.verify.startVerification(serviceSid, { to, channel: input.channel, ...(input.locale && { locale: input.locale }) }),
    );
    const how = input.channel === 'call' ? 'says it in a phone call to' : input.channel === 'email' ? 'emails it to' : `texts it (${input.channel}) to`;
    const next = `Twilio generated a code and ${how} ${to}. Ask the person for the code they received, then call check_verification. The code is never shown to you.`;
    const transactional = 'A verification is transactional: quiet hours do not hold it; opt-outs, countries and caps apply.';
    if (outcome.dryRun) {
      return { dry_run: true as const, to, channel: input.channel, service_sid: serviceSid, status: 'dry_run', next_step: 'Dry run: nothing was sent.', note: transactional, warnings: outcome.decision.warnings };
    }
    this.checks.set(`${serviceSid}:${to}`, 0);
    return { ...this.view(outcome.result), next_step: next, note: transactional, ...(outcome.decision.warnings.length > 0 && { warnings: outcome.decision.warnings }) };
  }

  async check(input: { to: string; code: string; channel?: VerifyChannel; service_sid?: string }) {
    const to = await this.recipient(input.to, input.channel ?? (input.to.includes('@') ? 'email' : 'sms'));
    const serviceSid = await this.serviceSid(input.service_sid);
    const key = `${serviceSid}:${to}`;
    let result: VerificationRecord;
    try {
      result = await this.gateway.verify.checkVerification(serviceSid, { to, code: input.code });
    } catch (error) {
      if (error instanceof ToolFailure && error.twilioCode === 20404) {
        throw new ToolFailure({
          message: `There is no pending verification for ${to}: it was approved already, canceled, expired (after 10 minutes), or never started.`,
          twilioCode: 20404,
          nextStep: 'Start a new one with start_verification if the person still needs to verify.',
        });
      }
      throw error;
    }
    const used = (this.checks.get(key) ?? 0) + 1;
    this.checks.set(key, used);
    const approved = result.status === 'approved';
    return {
      ...this.view(result),
      approved,
      attempts_left: approved ? 0 : Math.max(0, MAX_CHECKS - used),
      next_step: approved ? 'Verified: the person controls this number or address.' : 'Wrong code: ask the person to read it again (or start_verification to resend).',
    };
  }

  async cancel(input: { to: string; service_sid?: string }) {
    const to = await this.recipient(input.to, input.to.includes('@') ? 'email' : 'sms');
    const serviceSid = await this.serviceSid(input.service_sid);
    const result = await this.gateway.verify.cancelVerification(serviceSid, to);
    this.checks.delete(`${serviceSid}:${to}`);
    return { ...this.view(result), next_step: 'Canceled: the code sent can no longer be used.' };
  }
}
