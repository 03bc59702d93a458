/**
 * What the guards see of an outgoing send. Every send goes through the one pipeline
 * (src/pipeline/send-pipeline.ts): opt-outs, then the operator's policy, then a reservation,
 * then Twilio. No send path can forget a check, because no service calls Twilio to send
 * except through it.
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
