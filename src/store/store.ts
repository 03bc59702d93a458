/**
 * The store interface: everything the server keeps on disk. Services and the webhook
 * receiver depend on this interface only, so a second backend (Postgres, say) can be
 * added without touching them. The SQLite implementation is sqlite-store.ts.
 */
export type WebhookKind = 'inbound_message' | 'message_status' | 'call_status' | 'recording';

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
  channel: 'sms' | 'mms' | 'whatsapp';
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

export interface OptOut {
  sender: string;
  recipient: string;
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
  | { action: 'add'; sender: string; recipient: string; source: 'keyword' | 'manual'; keyword?: string; reason?: string }
  | { action: 'remove'; sender: string; recipient: string; source: 'keyword' | 'manual'; keyword?: string; reason?: string };

/** What one webhook changes, applied in the same transaction as the event itself. */
export type Ingest =
  | { kind: 'inbound_message'; message: Omit<InboundMessage, 'readAt'>; optOuts: OptOutChange[] }
  | { kind: 'message_status' | 'call_status'; sid: string; status: string; errorCode: number | null; at: Date }
  | { kind: 'recording'; recordingSid: string; callSid: string | null; status: string; url: string | null; durationSeconds: number | null; at: Date };

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

/** Counts since the start of the current UTC hour / day (calendar windows, see policy-engine.ts). */
export interface SendTotals {
  messagesThisHour: number;
  messagesToday: number;
  callsToday: number;
  /** Estimated USD of messages and calls together. */
  spendToday: number;
}

export interface AuditEntry {
  at: Date;
  tool: string;
  arguments: Record<string, unknown>;
  resultSid: string | null;
  error: string | null;
  clientName: string | null;
  sessionId: string | null;
}

export interface Store {
  /**
   * Applies many webhooks in one durable transaction (group commit); results in order.
   * Each event is stored once: a second one with the same idempotency token, or the same
   * (kind, sid, status), is `{ duplicate: true }` and changes nothing. With the event come
   * its effects (inbox row, status move, opt-out changes), all or nothing.
   */
  ingestBatch(items: Array<{ event: WebhookEvent; change: Ingest }>): IngestResult[];

  /** Inbound messages, newest first. */
  listInbound(filter: InboundFilter): InboundMessage[];
  /** Marks the messages read (those not read yet); returns how many changed. */
  markRead(messageSids: string[], at: Date): number;
  /** Oldest unread inbound message from `from` received at or after `after` (wait_for_reply). */
  findUnreadFrom(from: string, after: Date): InboundMessage | undefined;

  /** Current status (never moved backwards by a late callback) and every callback received. */
  getMessageStatus(sid: string): StatusRecord | undefined;
  getCallStatus(sid: string): StatusRecord | undefined;

  /**
   * Adds or removes one opt-out and appends the change to the opt-out audit, in one
   * transaction. Returns whether the list changed (adding an existing opt-out keeps the
   * original row; removing a missing one is a no-op, but both are still audited).
   */
  applyOptOut(change: OptOutChange, at: Date): boolean;
  /** The opt-out that blocks `recipient` from any of `senders` (or from every sender, '*'). */
  isOptedOut(senders: string[], recipient: string): OptOut | undefined;
  /** Current opt-outs, newest first. */
  listOptOuts(filter: { recipient?: string; sender?: string; limit: number }): OptOut[];
  /** The opt-out audit, newest first. */
  listOptOutAudit(filter: { recipient?: string; sender?: string; limit: number }): OptOutAuditEntry[];

  recordSend(record: SendRecord): void;
  /** Counts and estimated spend for the cap checks, in one read. */
  sendTotals(hourStart: Date, dayStart: Date): SendTotals;
  findRecentSend(to: string, bodyHash: string, since: Date): { sid: string; at: Date } | undefined;
  hasContacted(to: string): boolean;

  appendAudit(entry: AuditEntry): void;
  listAudit(filter: { tool?: string; since?: Date; limit: number }): AuditEntry[];

  close(): void;
}
