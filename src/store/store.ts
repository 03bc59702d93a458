/**
 * The store interface: everything the server keeps on disk. Services and the webhook
 * receiver depend on this interface only, so a second backend (Postgres, say) can be
 * added without touching them. The SQLite implementation is sqlite-store.ts.
 */
export type WebhookKind = 'inbound_message' | 'message_status' | 'call_status' | 'recording' | 'conversation_event';

/** One accepted webhook, as received (after signature verification). */
export interface WebhookEvent {
  kind: WebhookKind;
  /** The message, call or recording SID the event is about. */
  sid: string;
  status: string | null;
  /** Twilio's I-Twilio-Idempotency-Token header: the same token is the same delivery. */
  idempotencyToken: string | null;
  receivedAt: Date;
  params: Record<string, string>;
}

export interface MediaItem {
  url: string;
  contentType: string | null;
}

export interface InboundMessage {
  messageSid: string;
  from: string;
  to: string;
  body: string;
  media: MediaItem[];
  messagingServiceSid: string | null;
  /** conversation: a message a participant posted to a Twilio Conversation (its `to` is the conversation SID). */
  channel: 'sms' | 'mms' | 'whatsapp' | 'conversation';
  profileName: string | null;
  /** Opt-out/opt-in/help keyword the body was, if any. */
  keyword: string | null;
  receivedAt: Date;
  readAt: Date | null;
}

export interface StatusChange {
  status: string;
  errorCode: number | null;
  at: Date;
  /** false when the change arrived late and did not move the current status. */
  applied: boolean;
}

export interface StatusRecord {
  sid: string;
  current: string;
  errorCode: number | null;
  updatedAt: Date;
  history: StatusChange[];
}

/**
 * What an opt-out covers: `sms` (messages on every channel: SMS, MMS, WhatsApp — what a STOP
 * reply means), `voice` (do not call), or `all`. Adding the other channel to an existing
 * opt-out makes it `all`; removing one channel of `all` leaves the other.
 */
export type OptOutChannel = 'sms' | 'voice' | 'all';

export interface OptOut {
  sender: string;
  recipient: string;
  channel: OptOutChannel;
  source: 'keyword' | 'manual';
  keyword: string | null;
  reason: string | null;
  createdAt: Date;
}

/** One row of the append-only opt-out audit: every add and remove, even one that changed nothing. */
export interface OptOutAuditEntry {
  action: 'add' | 'remove';
  sender: string;
  recipient: string;
  channel: OptOutChannel;
  source: 'keyword' | 'manual';
  keyword: string | null;
  reason: string | null;
  at: Date;
}

/**
 * An opt-out to add or remove. `sender` is a phone number, a messaging service SID, or
 * '*' (every sender); `recipient` is the person's number as Twilio writes it (a WhatsApp
 * recipient keeps its `whatsapp:` prefix).
 */
export type OptOutChange =
  | { action: 'add'; sender: string; recipient: string; source: 'keyword' | 'manual'; keyword?: string; reason?: string; channel?: OptOutChannel }
  | { action: 'remove'; sender: string; recipient: string; source: 'keyword' | 'manual'; keyword?: string; reason?: string; channel?: OptOutChannel };

/** The stored channels that block a send on a channel: a message by `sms`/`all`, a call by `voice`/`all`. */
export const BLOCKS_MESSAGES: readonly OptOutChannel[] = ['sms', 'all'];
export const BLOCKS_CALLS: readonly OptOutChannel[] = ['voice', 'all'];

/** One thing that happened on a call the server answers with a hosted IVR flow. */
export interface CallEvent {
  callSid: string;
  flowName: string | null;
  step: string | null;
  /** prompt (a step was served), answer (digits/speech), no_input, transfer, voicemail, sms, hangup, repeat, error */
  kind: string;
  digits: string | null;
  speech: string | null;
  confidence: number | null;
  /** What the event led to, in words or JSON (e.g. the next step, the SMS SID). */
  detail: string | null;
  at: Date;
}

/** A live phone conversation (ConversationRelay session) this server hosts. */
export interface RelaySession {
  sessionId: string;
  callSid: string | null;
  to: string;
  purpose: string;
  startedAt: Date;
  endedAt: Date | null;
  /** completed, caller_hung_up, agent_ended, timed_out, server_restarted, failed, … */
  outcome: string | null;
}

export interface TranscriptEntry {
  at: Date;
  speaker: 'caller' | 'agent' | 'server';
  /** said, digits, interrupted, filler, ended, error */
  kind: string;
  text: string;
}

/** One message this server sent, as insights see it. */
export interface SentMessageFact {
  sid: string | null;
  to: string;
  from: string | null;
  channel: string | null;
  state: ReservationState;
  at: Date;
  estimatedCost: number;
  /** The latest status a callback reported (null: none received yet). */
  status: string | null;
  errorCode: number | null;
  deliveredAt: Date | null;
}

export interface StoredIvrFlow {
  name: string;
  /** The flow as validated by the tool (domain/ivr-flow-schema.ts), kept as JSON. */
  definition: unknown;
  createdAt: Date;
  updatedAt: Date;
}

/** What one webhook changes, applied in the same transaction as the event itself. */
export type Ingest =
  | { kind: 'inbound_message'; message: Omit<InboundMessage, 'readAt'>; optOuts: OptOutChange[] }
  | { kind: 'message_status' | 'call_status'; sid: string; status: string; errorCode: number | null; at: Date }
  | { kind: 'recording'; recordingSid: string; callSid: string | null; status: string; url: string | null; durationSeconds: number | null; at: Date }
  /** A Conversations event that changes nothing here but is kept (participant added, state changed, …). */
  | { kind: 'conversation_event' };

export interface IngestResult {
  duplicate: boolean;
}

export interface InboundFilter {
  from?: string;
  to?: string;
  since?: Date;
  unreadOnly?: boolean;
  limit: number;
}

/** One send Twilio accepted, as the policy's caps and duplicate check remember it. */
export interface SendRecord {
  kind: 'message' | 'call';
  /** E.164, without a `whatsapp:` prefix, so one person is one recipient across channels. */
  to: string;
  /** sha256 hex of the body (see policy/send-ledger.ts hashBody); null for calls and bodiless sends. */
  bodyHash: string | null;
  sid: string;
  /** USD, from the policy's price table. */
  estimatedCost: number;
  at: Date;
}

/**
 * Where a send stands in the pipeline. Every state but `released` counts against caps,
 * spend and duplicates: `in_flight` (reserved, Twilio asked, no answer yet),
 * `sent` (Twilio accepted it), `outcome_unknown` (the answer was lost, or the process died
 * while Twilio held the request: it may have gone out). `released`: Twilio refused it, so
 * nothing went out and nothing is counted.
 */
export type ReservationState = 'in_flight' | 'sent' | 'outcome_unknown' | 'released';

/** What the pipeline asks the store to reserve, decided inside the reserving transaction. */
export interface ReservationRequest {
  kind: 'message' | 'call';
  /** sms | mms | whatsapp | voice (kept for the audit and the dashboard). */
  channel: string;
  /** E.164 without a `whatsapp:` prefix (see SendRecord.to). */
  to: string;
  bodyHash: string | null;
  estimatedCost: number;
  /** When the reservation is taken: the moment caps and the duplicate window count it. */
  at: Date;
  /** When the message will actually go out (send_at), if scheduled. */
  sendAt: Date | null;
  /** The sender (a number, or a Messaging Service SID) when known; insights group by it. */
  from?: string | null;
  /** The intent, written to the audit log in the same transaction. */
  audit: Omit<AuditEntry, 'resultSid' | 'error' | 'outcome'>;
}

export interface Reservation {
  id: number;
  kind: 'message' | 'call';
  channel: string | null;
  to: string;
  bodyHash: string | null;
  sid: string | null;
  state: ReservationState;
  estimatedCost: number;
  at: Date;
  sendAt: Date | null;
  error: string | null;
  auditId: number | null;
}

export type Settlement =
  | { state: 'sent'; sid: string; at: Date }
  | { state: 'released' | 'outcome_unknown'; error: string; at: Date };

/** The earlier send a duplicate check found: a settled SID, or a reservation without one. */
export interface EarlierSendRow {
  sid: string | null;
  at: Date;
  state: ReservationState;
  reservationId: number;
}

/** Counts since the start of the current UTC hour / day (calendar windows, see policy-engine.ts). */
export interface SendTotals {
  messagesThisHour: number;
  messagesToday: number;
  callsToday: number;
  /** Estimated USD of messages and calls together. */
  spendToday: number;
}

/**
 * What the reserve step's rules need to know, named before the transaction starts so a
 * networked adapter can fetch it in one round trip under its lock (policy-engine.ts
 * `ledgerKeys` computes them from the send).
 */
export interface LedgerKeys {
  /** E.164 without a `whatsapp:` prefix. */
  to: string;
  /** The content's hash and the start of the duplicate window; null: no duplicate check. */
  bodyHash: string | null;
  duplicateSince: Date | null;
  /** Calendar windows of the caps (UTC hour and day of the send). */
  hourStart: Date;
  dayStart: Date;
}

/** The ledger facts for one send, read inside the reserving transaction. */
export interface LedgerSnapshot {
  totals: SendTotals;
  /** The latest counting send of the same content to `to` since `duplicateSince`. */
  earlier: EarlierSendRow | undefined;
  /** Whether anything was ever sent to (or reserved for) `to`: the first-contact rule. */
  contacted: boolean;
}

export interface AuditEntry {
  at: Date;
  tool: string;
  arguments: Record<string, unknown>;
  resultSid: string | null;
  error: string | null;
  clientName: string | null;
  sessionId: string | null;
  /** For sends: the reservation's state (in_flight until settled); null for other tools. */
  outcome?: ReservationState | null;
}

export interface Store {
  /**
   * Applies many webhooks in one durable transaction (group commit); results in order.
   * Each event is stored once: a second one with the same idempotency token, or the same
   * (kind, sid, status), is `{ duplicate: true }` and changes nothing. With the event come
   * its effects (inbox row, status move, opt-out changes), all or nothing.
   */
  ingestBatch(items: Array<{ event: WebhookEvent; change: Ingest }>): Promise<IngestResult[]>;

  /** Inbound messages, newest first. */
  listInbound(filter: InboundFilter): Promise<InboundMessage[]>;
  /** Marks the messages read (those not read yet); returns how many changed. */
  markRead(messageSids: string[], at: Date): Promise<number>;
  /** Oldest unread inbound message from `from` received at or after `after` (wait_for_reply). */
  findUnreadFrom(from: string, after: Date): Promise<InboundMessage | undefined>;

  /** Current status (never moved backwards by a late callback) and every callback received. */
  getMessageStatus(sid: string): Promise<StatusRecord | undefined>;
  getCallStatus(sid: string): Promise<StatusRecord | undefined>;

  /**
   * Adds or removes one opt-out and appends the change to the opt-out audit, in one
   * transaction. Returns whether the list changed (adding an existing opt-out keeps the
   * original row; removing a missing one is a no-op, but both are still audited).
   */
  applyOptOut(change: OptOutChange, at: Date): Promise<boolean>;
  /**
   * The opt-out that blocks `recipient` from any of `senders` (or from every sender, '*'),
   * counting only opt-outs whose channel is one of `channels` (default: those that block messages).
   */
  isOptedOut(senders: string[], recipient: string, channels?: readonly OptOutChannel[]): Promise<OptOut | undefined>;
  /** The first opt-out of any of `recipients` from any sender at all (account-wide scope), by channel as above. */
  findAnyOptOut(recipients: string[], channels?: readonly OptOutChannel[]): Promise<OptOut | undefined>;
  /** Current opt-outs, newest first. */
  listOptOuts(filter: { recipient?: string; sender?: string; limit: number }): Promise<OptOut[]>;
  /** The opt-out audit, newest first. */
  listOptOutAudit(filter: { recipient?: string; sender?: string; limit: number }): Promise<OptOutAuditEntry[]>;

  /** Records a settled send directly (tests, imports); the pipeline reserves and settles instead. */
  recordSend(record: SendRecord): Promise<void>;
  /** Counts and estimated spend of every send that still counts (not released), in one read. */
  sendTotals(hourStart: Date, dayStart: Date): Promise<SendTotals>;
  /** The latest send (sent, in flight or of unknown outcome) of the same content to `to` since `since`. */
  findRecentSend(to: string, bodyHash: string, since: Date): Promise<EarlierSendRow | undefined>;
  hasContacted(to: string): Promise<boolean>;

  /**
   * Decides and reserves in one write transaction: the store reads the ledger facts named
   * by `keys` inside the transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: under the
   * reservation lock), hands them to `decide`, which throws to refuse; what it returns is
   * inserted as an `in_flight` reservation with its audit intent row before the transaction
   * commits, and the promise resolves only after the commit. Two senders (two calls, two
   * processes on one file, two instances on one database) cannot both take the last slot.
   * An adapter may commit several concurrent reservations in one transaction (group commit),
   * each decided in turn against the ledger including the ones before it.
   */
  reserveSend(keys: LedgerKeys, decide: (ledger: LedgerSnapshot) => ReservationRequest): Promise<Reservation>;
  /** The same snapshot reserveSend hands to `decide`, read outside any reservation (dry runs). */
  readLedger(keys: LedgerKeys): Promise<LedgerSnapshot>;
  /** Records Twilio's answer (or its absence) for a reservation, and on its audit row. */
  settleSend(reservationId: number, settlement: Settlement): Promise<void>;
  /**
   * Reservations left `in_flight` by a process that is gone become `outcome_unknown`
   * (they still count). `isAlive(pid)` tells whether the owning process still runs.
   */
  recoverInFlight(isAlive: (pid: number) => boolean, at: Date): Promise<Reservation[]>;
  /** The reservation that produced `sid` (e.g. to show a scheduled message's send time). */
  findReservationBySid(sid: string): Promise<Reservation | undefined>;

  /** Stores a flow under its name (replacing one of the same name); true when it is new. */
  saveIvrFlow(name: string, definition: unknown, at: Date): Promise<boolean>;
  getIvrFlow(name: string): Promise<StoredIvrFlow | undefined>;
  listIvrFlows(): Promise<StoredIvrFlow[]>;
  /** Deletes a flow and every number's use of it; false when there was none. */
  deleteIvrFlow(name: string): Promise<boolean>;
  /** Which flow answers inbound calls to `number` (null clears it). */
  setInboundCallFlow(number: string, flowName: string | null, at: Date): Promise<void>;
  getInboundCallFlow(number: string): Promise<string | undefined>;
  /** Numbers answered by a flow (all flows when no name is given). */
  listInboundCallFlows(flowName?: string): Promise<Array<{ number: string; flowName: string; setAt: Date }>>;
  appendCallEvent(event: CallEvent): Promise<void>;
  /** A call's events, oldest first. */
  listCallEvents(callSid: string): Promise<CallEvent[]>;

  openRelaySession(session: Omit<RelaySession, 'endedAt' | 'outcome' | 'callSid'>): Promise<void>;
  bindRelaySession(sessionId: string, callSid: string): Promise<void>;
  endRelaySession(sessionId: string, outcome: string, at: Date): Promise<void>;
  getRelaySession(sessionId: string): Promise<RelaySession | undefined>;
  findRelaySessionByCall(callSid: string): Promise<RelaySession | undefined>;
  /** Sessions a stopped process left open become ended (`server_restarted`); returns them. */
  endOrphanRelaySessions(at: Date): Promise<RelaySession[]>;
  appendTranscript(sessionId: string, entry: TranscriptEntry): Promise<void>;
  listTranscript(sessionId: string): Promise<TranscriptEntry[]>;

  /**
   * Messages this server sent (or may have: outcome unknown) in [start, end), with their
   * current status from the status callbacks and when they were delivered, for insights.
   */
  messagesSentBetween(start: Date, end: Date): Promise<SentMessageFact[]>;
  /** Opt-out changes (add/remove) recorded in [start, end). */
  optOutChangesBetween(start: Date, end: Date): Promise<OptOutAuditEntry[]>;
  /** Inbound messages received in [start, end). */
  countInboundBetween(start: Date, end: Date): Promise<number>;

  /** Appends one audit row; returns its id. */
  appendAudit(entry: AuditEntry): Promise<number>;
  listAudit(filter: { tool?: string; since?: Date; limit: number }): Promise<AuditEntry[]>;

  close(): Promise<void>;
}
