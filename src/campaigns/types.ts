/**
 * The campaign engine's ports and values. The lead implements CampaignSender on top of the
 * send pipeline (every campaign message takes the one path: opt-out → policy → reserve →
 * Twilio → settle); the engine never talks to Twilio or the pipeline itself.
 */
import type { CampaignChannel, StateCounts } from '../store/outbox.js';

export interface CampaignSend {
  campaignId: string;
  row: number;
  to: string;
  channel: 'sms' | 'whatsapp';
  from?: string;
  messagingServiceSid?: string;
  body?: string;
  contentSid?: string;
  contentVariables?: Record<string, string>;
  idempotencyKey: string;
  /** Which attempt this is (1 for the first); a sender may log or audit it. */
  attempt?: number;
}

export interface CampaignSender {
  /** Through the send pipeline; throws ToolFailure (refusal with extra.rule, outcomeUnknown, or httpStatus for retryable). */
  send(message: CampaignSend): Promise<{ sid: string }>;
  /** A message already accepted for this send (reconciliation): its SID, or undefined. */
  findSent(message: CampaignSend, since: Date): Promise<string | undefined>;
}

/** Time as the engine sees it: real by default, a fake one in tests. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time (a fake clock resolves when advanced). */
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** One recipient as read from the list, before the engine judges it. */
export interface RecipientInput {
  to: string;
  variables?: Record<string, string>;
}

/** Where the recipients come from: inline, or a local CSV / JSON / JSON Lines file. */
export type RecipientSource =
  | { kind: 'inline'; recipients: Iterable<RecipientInput> | AsyncIterable<RecipientInput> }
  | { kind: 'file'; path: string; format?: 'csv' | 'json' | 'jsonl' };

export interface CampaignSpec {
  name: string;
  channel: CampaignChannel;
  /** The body with `{{variable}}` placeholders; required unless contentSid is given. */
  template?: string;
  /** A WhatsApp content template: sent with content_variables (each row's variables), not rendered. */
  contentSid?: string;
  from?: string;
  messagingServiceSid?: string;
  /** Messages per second for this campaign's sender, overriding its default; 0: no limit. */
  ratePerSecond?: number;
  recipients: RecipientSource;
}

export interface CampaignProgress {
  campaignId: string;
  state: 'running' | 'paused' | 'canceled' | 'completed';
  counts: StateCounts;
  /** Rows settled for good so far (every state but the active ones). */
  done: number;
  total: number;
}
