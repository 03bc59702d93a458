/**
 * The seam every outgoing send passes through before Twilio is called: opt-outs, then
 * the operator's policy. No send path can forget a check, because the service cannot
 * send without asking the guard.
 */
export interface OutgoingMessage {
  channel: 'sms' | 'mms' | 'whatsapp';
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
  /** Billable SMS segments of the body (1 for templates and media-only). */
  segments?: number;
  /** Time-critical (e.g. a verification code): allowed during quiet hours. */
  transactional?: boolean;
  /** The caller really means to send the same text again within the duplicate window. */
  allowDuplicate?: boolean;
  /** The user confirmed a first contact with this number (elicitation). */
  firstContactConfirmed?: boolean;
}

export interface SendDecision {
  /** Validate and check everything, send nothing. */
  dryRun: boolean;
  /** USD, from the policy's price table. */
  estimatedCost: number;
  /** Present when the policy engine decided: refusals are thrown, never returned. */
  allowed?: true;
  /** SMS segments the estimate counted (1 for MMS, WhatsApp and calls). */
  segments?: number;
  /** Allowed, but worth telling the agent (near a cap, quiet hours overridden, ...). */
  warnings?: string[];
}

/** An outgoing call as the policy sees it (the voice service builds it before dialling). */
export interface OutgoingCall {
  to: string;
  from: string | undefined;
  /** What the call plays (TwiML or its URL): the same call to the same number within the duplicate window is refused. */
  content?: string;
  /** Minutes the spend cap should count; unknown before the call, so a documented default applies. */
  expectedMinutes?: number;
  /** Time-critical (e.g. a voice verification code): allowed during quiet hours. */
  transactional?: boolean;
  allowDuplicate?: boolean;
  firstContactConfirmed?: boolean;
}

export interface SendGuard {
  /** Throws a ToolFailure to refuse; returns a decision (or nothing: allowed, no estimate). */
  checkMessage(message: OutgoingMessage): Promise<SendDecision | void>;
  /** Told about every send that Twilio accepted, so caps and duplicate checks see it. */
  recordSent?(message: OutgoingMessage, sid: string, decision: SendDecision | void): Promise<void>;
}

export const allowEverySend: SendGuard = { checkMessage: async () => {} };

/** Runs guards in order; the first refusal wins; the last decision given is kept. */
export function chainGuards(...guards: SendGuard[]): SendGuard {
  return {
    async checkMessage(message) {
      let decision: SendDecision | void = undefined;
      for (const guard of guards) decision = (await guard.checkMessage(message)) ?? decision;
      return decision;
    },
    async recordSent(message, sid, decision) {
      for (const guard of guards) await guard.recordSent?.(message, sid, decision);
    },
  };
}
