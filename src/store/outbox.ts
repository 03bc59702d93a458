/**
 * The Outbox port: where campaigns and their recipients live while a campaign runs. One
 * interface, two adapters: SQLite (sqlite-outbox.ts, the embedded default) and, later,
 * PostgreSQL (graphile-worker). An adapter STORES and CLAIMS; it decides nothing a
 * campaign means — rendering, which rows are duplicates of which, policy, rate, retry and
 * reconciliation all live in src/campaigns/engine.ts, so both adapters behave the same.
 *
 * Every method is async so a networked adapter can implement the same interface.
 *
 * Two ways rows reach the engine. SQLite is polled: the engine's workers claim due rows
 * (claimBatch / claimUnknown). An adapter on a job queue (PostgreSQL's graphile-worker) can
 * also push: it schedules each row itself (a job per recipient, run when the row is due)
 * and hands the row, claimed, to the engine (PushOutbox below). Either way the adapter only
 * stores, claims and schedules; what to do with the row is the engine's.
 */

export type CampaignChannel = 'sms' | 'whatsapp';
export type CampaignState = 'running' | 'paused' | 'canceled' | 'completed';

/**
 * Where one recipient stands:
 * - pending: waiting for its turn (not before next_attempt_at: a retry waits there)
 * - held: quiet hours or a cap; not before next_attempt_at (then it is tried again)
 * - sending: claimed by a worker (owner_pid) and being sent now
 * - sent: Twilio accepted it (message_sid); delivery comes from status callbacks
 * - failed_send: Twilio refused it at create, or retries ran out
 * - skipped_opt_out / skipped_policy: the pipeline refused it (error says which rule)
 * - invalid: not sendable as given (bad number, missing variable); error says why
 * - duplicate: the same canonical number appeared on an earlier row
 * - outcome_unknown: it may have gone out; reconciled before anything else happens to it
 * - canceled: the campaign was canceled before this row was sent
 */
export type RecipientState =
  | 'pending'
  | 'held'
  | 'sending'
  | 'sent'
  | 'failed_send'
  | 'skipped_opt_out'
  | 'skipped_policy'
  | 'invalid'
  | 'duplicate'
  | 'outcome_unknown'
  | 'canceled';

export const RECIPIENT_STATES: readonly RecipientState[] = [
  'pending', 'held', 'sending', 'sent', 'failed_send', 'skipped_opt_out', 'skipped_policy', 'invalid', 'duplicate', 'outcome_unknown', 'canceled',
];
/** While any row is in one of these, the campaign is not done. */
export const ACTIVE_STATES: readonly RecipientState[] = ['pending', 'held', 'sending', 'outcome_unknown'];

export type StateCounts = Record<RecipientState, number>;

export interface NewCampaign {
  id: string;
  name: string;
  channel: CampaignChannel;
  /** The body template (SMS, WhatsApp free-form); null for a WhatsApp content template. */
  template: string | null;
  contentSid: string | null;
  from: string | null;
  messagingServiceSid: string | null;
  /** Overrides the sender's default throughput; 0 means no limit (benchmarks). */
  ratePerSecond: number | null;
  createdAt: Date;
}

export interface Campaign extends NewCampaign {
  state: CampaignState;
  /** false while recipients are still being imported (nothing is claimed from it yet). */
  loaded: boolean;
  /** Nothing of this campaign is claimed before this moment (a cap that resets later). */
  resumeAt: Date | null;
  updatedAt: Date;
  /** Why it stopped, when it did not complete (e.g. the recipient file could not be read). */
  error: string | null;
  counts: StateCounts;
}

/** One recipient row as the engine decided it at import. */
export interface NewRecipient {
  /** 1-based position in the recipient list. */
  row: number;
  /** Canonical address for a valid row; the text as given for an invalid one. */
  to: string;
  variables: Record<string, string>;
  state: 'pending' | 'invalid';
  error: string | null;
  idempotencyKey: string;
  /**
   * Uniqueness within the campaign, like a UNIQUE constraint: a later row whose key is
   * already taken is stored `duplicate` (error "duplicate of row N"). The engine chooses
   * the key (the canonical number); null for rows that take no part (invalid ones).
   */
  uniqueKey: string | null;
}

export interface RecipientRow {
  campaignId: string;
  row: number;
  to: string;
  variables: Record<string, string>;
  state: RecipientState;
  attempts: number;
  nextAttemptAt: Date | null;
  /** When the latest attempt was claimed: the start of the reconciliation window. */
  attemptStartedAt: Date | null;
  ownerPid: number | null;
  messageSid: string | null;
  errorCode: number | null;
  error: string | null;
  idempotencyKey: string;
  updatedAt: Date;
  /** The latest status callback for message_sid (delivered, undelivered, failed, ...), when the adapter can see it. */
  deliveryStatus?: string | null;
}

/** What a worker decided about a row it holds (state sending, or outcome_unknown it reconciles). */
export type Settlement =
  | { state: 'sent'; messageSid: string }
  /**
   * notAnAttempt: nothing was tried (a quiet-hours or cap hold, a claim given back, a pause
   * since the claim), so the claim's attempt is taken back: attempts count sends tried, and
   * a recipient held for many nights still gets every retry it is owed.
   */
  | { state: 'pending' | 'held'; nextAttemptAt: Date; error?: string | null; errorCode?: number | null; notAnAttempt?: boolean }
  | { state: 'outcome_unknown'; nextAttemptAt: Date; error: string; errorCode?: number | null }
  | { state: 'failed_send' | 'skipped_opt_out' | 'skipped_policy' | 'canceled'; error: string; errorCode?: number | null };

export interface RowRef {
  campaignId: string;
  row: number;
}

export interface ListFilter {
  state?: RecipientState;
  /** Rows after this row number (paging). */
  afterRow?: number;
  limit: number;
}

/** What get_campaign reports beyond counts: computed by the adapter in a few queries. */
export interface CampaignInsights {
  /** Failures by Twilio error code (null: no code, e.g. retries ran out), most frequent first: send refusals and undelivered/failed callbacks. */
  errors: Array<{ code: number | null; count: number; example: string }>;
  /** When the first and latest rows became `sent`. */
  firstSentAt: Date | null;
  lastSentAt: Date | null;
  /** Rows that became `sent` in the minute before `now`. */
  sentLastMinute: number;
  /** Estimated USD of the campaign's sent messages, as their send reservations recorded it. */
  spentUsd: number;
  /** Inbound messages from the campaign's recipients received after their message was sent. */
  replies: number;
  /** Recipients who opted out (any sender) after their message was sent. */
  optOuts: number;
}

export interface Outbox {
  /**
   * Creates the campaign (not claimable while loading), then inserts `recipients` in
   * batches of `batchSize`, each batch one transaction, so memory stays flat in the number
   * of recipients. When the source fails, the campaign is canceled with the error and the
   * error is rethrown. Returns the campaign, running.
   */
  createCampaign(
    campaign: NewCampaign,
    recipients: AsyncIterable<NewRecipient> | Iterable<NewRecipient>,
    options?: { batchSize?: number; loaderPid?: number },
  ): Promise<Campaign>;
  getCampaign(id: string): Promise<Campaign | undefined>;
  listCampaigns(filter?: { state?: CampaignState; limit?: number }): Promise<Campaign[]>;
  /** Running ↔ paused, → canceled (pending and held rows become canceled too), → completed. Returns false when it was not in a state that allows it. */
  setCampaignState(id: string, state: CampaignState): Promise<boolean>;
  /** Nothing of the campaign is claimed before `at` (null clears). */
  setCampaignResumeAt(id: string, at: Date | null): Promise<void>;
  /** Marks the campaign completed when it is running and no row is active (ACTIVE_STATES). True when it did. */
  completeIfDone(id: string): Promise<boolean>;
  /** Counts of every state, in one query. */
  counts(id: string): Promise<StateCounts>;
  /** Of the sent rows, how many have each delivery status (from status callbacks; 'unknown' when none yet). */
  deliveryCounts(id: string): Promise<Record<string, number>>;
  /** Errors by code, throughput timestamps, spend, and the replies and opt-outs the campaign caused. */
  insights(id: string, now: Date): Promise<CampaignInsights>;
  getRecipient(ref: RowRef): Promise<RecipientRow | undefined>;
  listRecipients(campaignId: string, filter: ListFilter): Promise<RecipientRow[]>;

  /**
   * Atomically moves up to `n` due rows (pending or held with next_attempt_at <= now) of
   * running, loaded campaigns to `sending`, owned by `ownerPid`, with attempts + 1 and
   * attemptStartedAt = now. Two workers, or two processes on one file, never claim a row twice.
   */
  claimBatch(n: number, now: Date, ownerPid: number): Promise<RecipientRow[]>;
  /**
   * Takes up to `n` outcome_unknown rows that nobody reconciles and are due
   * (next_attempt_at <= now) for reconciliation by `ownerPid` (the state stays outcome_unknown).
   */
  claimUnknown(n: number, now: Date, ownerPid: number): Promise<RecipientRow[]>;
  /**
   * Records a worker's decision about a row it holds (sending, or an outcome_unknown it
   * claimed). Returns false, changing nothing, when `ownerPid` does not hold the row.
   */
  settle(ref: RowRef, ownerPid: number, outcome: Settlement, now: Date): Promise<boolean>;
  /**
   * Rows held by a process that is gone: `sending` ones become `outcome_unknown` (they
   * may have gone out: reconciled, NEVER straight back to pending), unknown ones being
   * reconciled are let go, and a campaign whose import such a process did not finish is
   * canceled (error "recipient import interrupted"). `pidAlive` decides who is gone (the
   * engine's choice). Returns how many rows became outcome_unknown.
   */
  releaseStale(pidAlive: (pid: number) => boolean, now: Date): Promise<number>;
  close(): Promise<void>;
}

/** A row handed to the engine, claimed for it: to send (state sending), or to reconcile (outcome_unknown, held by the engine's pid). */
export interface DueRow {
  kind: 'send' | 'reconcile';
  row: RecipientRow;
  /**
   * Aborted when the adapter withdraws the row (its instance lost it to a takeover): the
   * engine then sends nothing for it. Checked before a send leaves, after any rate wait.
   */
  signal?: AbortSignal;
}

export interface PushOptions {
  /** The pid the rows are claimed under (settle with the same one). */
  ownerPid: number;
  /** Rows handed out at once. */
  concurrency: number;
  /** The engine's clock (ms): a row is due when its next_attempt_at is at or before it. */
  now: () => number;
}

/**
 * An outbox that schedules its rows and hands each to the engine when it is due, claimed as
 * claimBatch / claimUnknown would claim it, so the engine runs no claim loop. The engine
 * settles each row through settle(); the settlement schedules what comes next (a retry or a
 * hold at its nextAttemptAt, a reconciliation of an unknown outcome), so a row that is not
 * final always has its turn coming. A handler that returns (or throws) without settling its
 * row leaves it to the adapter, which makes it outcome_unknown: it may have gone out.
 */
export interface PushOutbox extends Outbox {
  /** Starts handing out due rows (resolves once it is running). */
  startPush(handler: (due: DueRow) => Promise<void>, options: PushOptions): Promise<void>;
  /** Stops handing out rows and resolves when every handler in flight has returned. */
  stopPush(): Promise<void>;
}

export function isPushOutbox(outbox: Outbox): outbox is PushOutbox {
  const push = outbox as Partial<PushOutbox>;
  return typeof push.startPush === 'function' && typeof push.stopPush === 'function';
}

export function emptyCounts(): StateCounts {
  return Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as StateCounts;
}
