/**
 * The PostgreSQL store: the Store interface for several instances on one database
 * (TWILIO_MCP_DATABASE_URL=postgres://…). Every method keeps the SQLite store's semantics
 * (sqlite-store.ts); where SQLite gets them for free from its one writer at a time, this
 * adapter says how it keeps them with many writers:
 *
 * - reserveSend serialises on one lock row (see RESERVATION LOCK below).
 * - A status callback locks its status row before judging whether it moves the status
 *   forward, so two instances' callbacks for one SID cannot move it backwards.
 * - An opt-out change locks its (sender, recipient) row, so sms + voice from two instances
 *   still make `all`.
 * - Recovery of in-flight sends and orphaned live sessions judges only this host's rows.
 *
 * Every statement is parameterised; a transaction that PostgreSQL aborts as a deadlock
 * victim or serialisation failure is retried a few times (it rolled back whole, so running
 * it again is safe).
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { statusAdvances } from '../status-order.js';
import type {
  AuditEntry,
  CallEvent,
  EarlierSendRow,
  InboundFilter,
  InboundMessage,
  Ingest,
  IngestResult,
  LedgerKeys,
  LedgerSnapshot,
  OptOut,
  OptOutAuditEntry,
  OptOutChange,
  OptOutChannel,
  RelaySession,
  Reservation,
  ReservationRequest,
  ReservationState,
  SendRecord,
  SentMessageFact,
  Settlement,
  StatusRecord,
  Store,
  StoredIvrFlow,
  TranscriptEntry,
  WebhookEvent,
} from '../store.js';
import { BLOCKS_MESSAGES } from '../store.js';
import { migrate } from './migrate.js';
import { createPool, DEFAULT_POOL_SIZE, guardCheckedOut } from './pool.js';
import { STORE_MIGRATIONS } from './store-migrations.js';

export interface PostgresStoreOptions {
  /** Connections in the pool this store opens (ignored when a pool is passed). Default 10. */
  poolSize?: number;
  /**
   * Names this instance on the rows it owns (in-flight reservations, live sessions), for the
   * heartbeat that recovers other instances' rows. Default `${host}:${pid}`.
   */
  instanceId?: string;
  /** The host this instance runs on, as recovery compares it. Default os.hostname(). */
  host?: string;
  /** Whether a process of this host still runs (endOrphanRelaySessions). Default: signal 0. */
  isAlive?: (pid: number) => boolean;
}

/** Reservations in these states count against caps, spend and duplicates. */
const COUNTS = "state <> 'released'";

/** Deadlock victim, serialisation failure: the transaction rolled back and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

const signalAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const json = (value: unknown) => JSON.stringify(value);
const id = (value: string | number) => Number(value);

interface InboundRow {
  message_sid: string;
  from_number: string;
  to_number: string;
  body: string;
  media: InboundMessage['media'];
  messaging_service_sid: string | null;
  channel: InboundMessage['channel'];
  profile_name: string | null;
  keyword: string | null;
  received_at: Date;
  read_at: Date | null;
}
const toInbound = (r: InboundRow): InboundMessage => ({
  messageSid: r.message_sid,
  from: r.from_number,
  to: r.to_number,
  body: r.body,
  media: r.media,
  messagingServiceSid: r.messaging_service_sid,
  channel: r.channel,
  profileName: r.profile_name,
  keyword: r.keyword,
  receivedAt: r.received_at,
  readAt: r.read_at,
});

interface OptOutRow {
  sender: string;
  recipient: string;
  channel: OptOutChannel;
  source: OptOut['source'];
  keyword: string | null;
  reason: string | null;
  created_at: Date;
}
const toOptOut = (r: OptOutRow): OptOut => ({
  sender: r.sender,
  recipient: r.recipient,
  channel: r.channel,
  source: r.source,
  keyword: r.keyword,
  reason: r.reason,
  createdAt: r.created_at,
});

interface OptOutAuditRow {
  action: OptOutAuditEntry['action'];
  sender: string;
  recipient: string;
  channel: OptOutChannel;
  source: OptOut['source'];
  keyword: string | null;
  reason: string | null;
  at: Date;
}
const toOptOutAudit = (r: OptOutAuditRow): OptOutAuditEntry => ({
  action: r.action,
  sender: r.sender,
  recipient: r.recipient,
  channel: r.channel,
  source: r.source,
  keyword: r.keyword,
  reason: r.reason,
  at: r.at,
});

interface ReservationRow {
  id: string;
  kind: Reservation['kind'];
  channel: string | null;
  to_number: string;
  body_hash: string | null;
  sid: string | null;
  state: ReservationState;
  estimated_cost: number;
  at: Date;
  send_at: Date | null;
  error: string | null;
  audit_id: string | null;
  owner_pid: number | null;
  owner_host: string | null;
}
const toReservation = (r: ReservationRow): Reservation => ({
  id: id(r.id),
  kind: r.kind,
  channel: r.channel,
  to: r.to_number,
  bodyHash: r.body_hash,
  sid: r.sid,
  state: r.state,
  estimatedCost: r.estimated_cost,
  at: r.at,
  sendAt: r.send_at,
  error: r.error,
  auditId: r.audit_id === null ? null : id(r.audit_id),
});

interface RelayRow {
  session_id: string;
  call_sid: string | null;
  to_number: string;
  purpose: string;
  started_at: Date;
  ended_at: Date | null;
  outcome: string | null;
  owner_pid: number | null;
  owner_host: string | null;
}
const toRelay = (r: RelayRow): RelaySession => ({
  sessionId: r.session_id,
  callSid: r.call_sid,
  to: r.to_number,
  purpose: r.purpose,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  outcome: r.outcome,
});

interface FlowRow {
  name: string;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
}
const toFlow = (r: FlowRow): StoredIvrFlow => ({ name: r.name, definition: r.definition, createdAt: r.created_at, updatedAt: r.updated_at });

/** WHERE clauses built from a filter: only placeholders are concatenated, never values. */
class Where {
  readonly clauses: string[] = [];
  readonly values: unknown[] = [];
  add(clause: (placeholder: string) => string, value: unknown): this {
    this.values.push(value);
    this.clauses.push(clause(`$${this.values.length}`));
    return this;
  }
  raw(clause: string): this {
    this.clauses.push(clause);
    return this;
  }
  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
  /** A placeholder for one more value (the LIMIT). */
  next(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The ledger facts of one send in one statement (one round trip under the lock): the caps'
 * totals, the latest counting send of the same content in the duplicate window, and whether
 * the recipient was ever contacted. $1 hour start, $2 day start, $3 to, $4 body hash, $5
 * duplicate window start.
 */
const LEDGER_SQL = `
  WITH totals AS (
    SELECT count(*) FILTER (WHERE kind = 'message' AND at >= $1)::int AS messages_this_hour,
           count(*) FILTER (WHERE kind = 'message')::int AS messages_today,
           count(*) FILTER (WHERE kind = 'call')::int AS calls_today,
           COALESCE(sum(estimated_cost), 0)::float8 AS spend_today
      FROM send_reservations WHERE at >= $2 AND ${COUNTS}
  ), earlier AS (
    SELECT id, sid, at, state FROM send_reservations
     WHERE $4::text IS NOT NULL AND $5::timestamptz IS NOT NULL
       AND to_number = $3 AND body_hash = $4 AND at >= $5 AND ${COUNTS}
     ORDER BY at DESC, id DESC LIMIT 1
  )
  SELECT t.messages_this_hour, t.messages_today, t.calls_today, t.spend_today,
         e.id AS earlier_id, e.sid AS earlier_sid, e.at AS earlier_at, e.state AS earlier_state,
         EXISTS (SELECT 1 FROM send_reservations WHERE to_number = $3 AND ${COUNTS}) AS contacted
    FROM totals t LEFT JOIN earlier e ON true`;

interface LedgerRow {
  messages_this_hour: number;
  messages_today: number;
  calls_today: number;
  spend_today: number;
  earlier_id: string | null;
  earlier_sid: string | null;
  earlier_at: Date | null;
  earlier_state: ReservationState | null;
  contacted: boolean;
}

const ledgerValues = (keys: LedgerKeys) => [keys.hourStart, keys.dayStart, keys.to, keys.bodyHash, keys.duplicateSince];

const toSnapshot = (r: LedgerRow): LedgerSnapshot => ({
  totals: { messagesThisHour: r.messages_this_hour, messagesToday: r.messages_today, callsToday: r.calls_today, spendToday: r.spend_today },
  earlier: r.earlier_id === null ? undefined : { sid: r.earlier_sid, at: r.earlier_at!, state: r.earlier_state!, reservationId: id(r.earlier_id) },
  contacted: r.contacted,
});

export class PostgresStore implements Store {
  private readonly instanceId: string;
  private readonly host: string;
  private readonly isAlive: (pid: number) => boolean;
  private closed = false;

  /** Use openPostgresStore, which migrates the schema first. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    options: PostgresStoreOptions = {},
  ) {
    this.host = options.host ?? hostname();
    this.instanceId = options.instanceId ?? `${this.host}:${process.pid}`;
    this.isAlive = options.isAlive ?? signalAlive;
  }

  /**
   * Runs `work` in one transaction on one connection. Resolves after COMMIT; on any error
   * rolls back and rejects with it (a deadlock or serialisation failure is retried first).
   */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const unguard = guardCheckedOut(client);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        unguard();
        client.release();
        return result;
      } catch (error) {
        let reusable = true;
        await client.query('ROLLBACK').catch(() => (reusable = false));
        unguard();
        // A connection that cannot even roll back is closed rather than handed to the next caller.
        client.release(!reusable);
        const code = (error as { code?: unknown }).code;
        if (attempt < ATTEMPTS && typeof code === 'string' && RETRYABLE.has(code)) continue;
        throw error;
      }
    }
  }

  // ---- webhooks -------------------------------------------------------------------------

  async ingestBatch(items: Array<{ event: WebhookEvent; change: Ingest }>): Promise<IngestResult[]> {
    if (items.length === 0) return [];
    // One transaction for the batch (group commit): one durable commit however many webhooks.
    return this.transaction(async (client) => {
      const results: IngestResult[] = [];
      for (const { event, change } of items) results.push(await this.applyOne(client, event, change));
      return results;
    });
  }

  private async applyOne(client: pg.PoolClient, event: WebhookEvent, change: Ingest): Promise<IngestResult> {
    // ON CONFLICT DO NOTHING without a target: a conflict on the token or on (kind, sid, status)
    // is a duplicate; any other violation (a NOT NULL) fails loudly, as in SQLite. A conflicting
    // row another instance has not committed yet is waited for, then counts as the original.
    const inserted = await client.query(
      'INSERT INTO webhook_events (kind, sid, status, idempotency_token, received_at, params) VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING',
      [event.kind, event.sid, event.status, event.idempotencyToken, event.receivedAt, json(event.params)],
    );
    if (inserted.rowCount === 0) return { duplicate: true };
    switch (change.kind) {
      case 'inbound_message': {
        const m = change.message;
        await client.query(
          `INSERT INTO inbound_messages (message_sid, from_number, to_number, body, media, messaging_service_sid, channel, profile_name, keyword, received_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
          [m.messageSid, m.from, m.to, m.body, json(m.media), m.messagingServiceSid, m.channel, m.profileName, m.keyword, m.receivedAt],
        );
        for (const optOut of change.optOuts) await this.applyOptOutIn(client, optOut, m.receivedAt);
        break;
      }
      case 'message_status':
        await this.applyStatus(client, 'message', change.sid, change.status, change.errorCode, change.at);
        break;
      case 'call_status':
        await this.applyStatus(client, 'call', change.sid, change.status, change.errorCode, change.at);
        break;
      case 'recording':
        await client.query(
          `INSERT INTO recordings (recording_sid, call_sid, status, url, duration_seconds, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (recording_sid) DO UPDATE SET status = excluded.status, url = COALESCE(excluded.url, recordings.url),
             duration_seconds = COALESCE(excluded.duration_seconds, recordings.duration_seconds), updated_at = excluded.updated_at`,
          [change.recordingSid, change.callSid, change.status, change.url, change.durationSeconds, change.at],
        );
        break;
      case 'conversation_event':
        break;
    }
    return { duplicate: false };
  }

  /**
   * Whether a callback moves the status forward is judged in TypeScript (status-order.ts),
   * so the current status must not change between reading and writing it: the first
   * callback of a SID inserts the row (nothing came before it: it always becomes current),
   * every later one locks the row (FOR UPDATE reads the latest committed status, after
   * waiting for an instance that is changing it).
   */
  private async applyStatus(client: pg.PoolClient, kind: 'message' | 'call', sid: string, status: string, errorCode: number | null, at: Date): Promise<void> {
    const first = await client.query(
      'INSERT INTO status_current (kind, sid, status, error_code, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, sid) DO NOTHING',
      [kind, sid, status, errorCode, at],
    );
    let advances = true;
    if (first.rowCount === 0) {
      const { rows } = await client.query<{ status: string }>('SELECT status FROM status_current WHERE kind = $1 AND sid = $2 FOR UPDATE', [kind, sid]);
      advances = statusAdvances(kind, rows[0]?.status, status);
      if (advances) {
        await client.query(
          'UPDATE status_current SET status = $3, error_code = COALESCE($4, error_code), updated_at = $5 WHERE kind = $1 AND sid = $2',
          [kind, sid, status, errorCode, at],
        );
      }
    }
    await client.query('INSERT INTO status_history (kind, sid, status, error_code, at, applied) VALUES ($1, $2, $3, $4, $5, $6)', [kind, sid, status, errorCode, at, advances]);
  }

  // ---- inbox ----------------------------------------------------------------------------

  async listInbound(filter: InboundFilter): Promise<InboundMessage[]> {
    const where = new Where();
    if (filter.from) where.add((p) => `from_number = ${p}`, filter.from);
    if (filter.to) where.add((p) => `to_number = ${p}`, filter.to);
    if (filter.since) where.add((p) => `received_at >= ${p}`, filter.since);
    if (filter.unreadOnly) where.raw('read_at IS NULL');
    const sql = `SELECT * FROM inbound_messages ${where.sql()} ORDER BY received_at DESC, id DESC LIMIT ${where.next(filter.limit)}`;
    return (await this.pool.query<InboundRow>(sql, where.values)).rows.map(toInbound);
  }

  async markRead(messageSids: string[], at: Date): Promise<number> {
    if (messageSids.length === 0) return 0;
    const result = await this.pool.query('UPDATE inbound_messages SET read_at = $1 WHERE message_sid = ANY($2::text[]) AND read_at IS NULL', [at, messageSids]);
    return result.rowCount ?? 0;
  }

  async findUnreadFrom(from: string, after: Date): Promise<InboundMessage | undefined> {
    const { rows } = await this.pool.query<InboundRow>(
      'SELECT * FROM inbound_messages WHERE from_number = $1 AND received_at >= $2 AND read_at IS NULL ORDER BY received_at, id LIMIT 1',
      [from, after],
    );
    return rows[0] ? toInbound(rows[0]) : undefined;
  }

  getMessageStatus(sid: string): Promise<StatusRecord | undefined> {
    return this.statusRecord('message', sid);
  }

  getCallStatus(sid: string): Promise<StatusRecord | undefined> {
    return this.statusRecord('call', sid);
  }

  private async statusRecord(kind: 'message' | 'call', sid: string): Promise<StatusRecord | undefined> {
    // One statement: the current status and the history as of the same snapshot.
    const { rows } = await this.pool.query<{ status: string; error_code: number | null; updated_at: Date; history: Array<{ status: string; error_code: number | null; at: string; applied: boolean }> }>(
      `SELECT c.status, c.error_code, c.updated_at,
         COALESCE((SELECT json_agg(json_build_object('status', h.status, 'error_code', h.error_code, 'at', h.at, 'applied', h.applied) ORDER BY h.id)
                     FROM status_history h WHERE h.kind = c.kind AND h.sid = c.sid), '[]'::json) AS history
       FROM status_current c WHERE c.kind = $1 AND c.sid = $2`,
      [kind, sid],
    );
    const row = rows[0];
    if (!row) return undefined;
    const history = row.history.map((h) => ({ status: h.status, errorCode: h.error_code, at: new Date(h.at), applied: h.applied }));
    return { sid, current: row.status, errorCode: row.error_code, updatedAt: row.updated_at, history };
  }

  // ---- opt-outs -------------------------------------------------------------------------

  applyOptOut(change: OptOutChange, at: Date): Promise<boolean> {
    return this.transaction((client) => this.applyOptOutIn(client, change, at));
  }

  /**
   * Channels combine as sets: sms + voice = all; all − sms = voice. The row is locked while
   * its channel is judged and changed, so two instances' changes to one opt-out serialise
   * as SQLite's writer would: an add inserts first (a row another instance is inserting is
   * waited for), and whatever it finds is read FOR UPDATE.
   */
  private async applyOptOutIn(client: pg.PoolClient, change: OptOutChange, at: Date): Promise<boolean> {
    const channel = change.channel ?? 'sms';
    const key = [change.sender, change.recipient];
    const lockExisting = async () =>
      (await client.query<{ channel: OptOutChannel }>('SELECT channel FROM opt_outs WHERE sender = $1 AND recipient = $2 FOR UPDATE', key)).rows[0];
    const setChannel = async (next: OptOutChannel) =>
      ((await client.query('UPDATE opt_outs SET channel = $3 WHERE sender = $1 AND recipient = $2', [...key, next])).rowCount ?? 0) > 0;
    let changed = false;
    if (change.action === 'add') {
      // Bounded: the row can vanish between the insert and the lock only if another instance removes it meanwhile.
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const inserted = await client.query(
          `INSERT INTO opt_outs (sender, recipient, source, keyword, reason, created_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (sender, recipient) DO NOTHING`,
          [...key, change.source, change.keyword ?? null, change.reason ?? null, at, channel],
        );
        if (inserted.rowCount === 1) {
          changed = true;
          break;
        }
        const existing = await lockExisting();
        if (!existing) continue;
        if (existing.channel !== channel && existing.channel !== 'all') changed = await setChannel('all');
        break;
      }
    } else {
      const existing = await lockExisting();
      if (existing) {
        if (channel === 'all' || existing.channel === channel) {
          changed = ((await client.query('DELETE FROM opt_outs WHERE sender = $1 AND recipient = $2', key)).rowCount ?? 0) > 0;
        } else if (existing.channel === 'all') {
          changed = await setChannel(channel === 'sms' ? 'voice' : 'sms');
        }
      }
    }
    await client.query('INSERT INTO opt_out_audit (action, sender, recipient, source, keyword, reason, at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      change.action,
      ...key,
      change.source,
      change.keyword ?? null,
      change.reason ?? null,
      at,
      channel,
    ]);
    return changed;
  }

  async isOptedOut(senders: string[], recipient: string, channels: readonly OptOutChannel[] = BLOCKS_MESSAGES): Promise<OptOut | undefined> {
    // The senders in the order given, then '*': the first that has an opt-out wins (as SQLite's loop).
    const order = [...senders, '*'];
    const { rows } = await this.pool.query<OptOutRow>(
      `SELECT * FROM opt_outs WHERE recipient = $1 AND sender = ANY($2::text[]) AND channel = ANY($3::text[])
       ORDER BY array_position($2::text[], sender) LIMIT 1`,
      [recipient, order, [...channels]],
    );
    return rows[0] ? toOptOut(rows[0]) : undefined;
  }

  async findAnyOptOut(recipients: string[], channels: readonly OptOutChannel[] = BLOCKS_MESSAGES): Promise<OptOut | undefined> {
    if (recipients.length === 0) return undefined;
    const { rows } = await this.pool.query<OptOutRow>(
      `SELECT * FROM opt_outs WHERE recipient = ANY($1::text[]) AND channel = ANY($2::text[])
       ORDER BY array_position($1::text[], recipient), created_at, id LIMIT 1`,
      [recipients, [...channels]],
    );
    return rows[0] ? toOptOut(rows[0]) : undefined;
  }

  async listOptOuts(filter: { recipient?: string; sender?: string; limit: number }): Promise<OptOut[]> {
    const where = new Where();
    if (filter.recipient) where.add((p) => `recipient = ${p}`, filter.recipient);
    if (filter.sender) where.add((p) => `sender = ${p}`, filter.sender);
    const sql = `SELECT * FROM opt_outs ${where.sql()} ORDER BY created_at DESC, id DESC LIMIT ${where.next(filter.limit)}`;
    return (await this.pool.query<OptOutRow>(sql, where.values)).rows.map(toOptOut);
  }

  async listOptOutAudit(filter: { recipient?: string; sender?: string; limit: number }): Promise<OptOutAuditEntry[]> {
    const where = new Where();
    if (filter.recipient) where.add((p) => `recipient = ${p}`, filter.recipient);
    if (filter.sender) where.add((p) => `sender = ${p}`, filter.sender);
    const sql = `SELECT * FROM opt_out_audit ${where.sql()} ORDER BY id DESC LIMIT ${where.next(filter.limit)}`;
    return (await this.pool.query<OptOutAuditRow>(sql, where.values)).rows.map(toOptOutAudit);
  }

  // ---- the send ledger ------------------------------------------------------------------

  async recordSend(r: SendRecord): Promise<void> {
    await this.pool.query(
      "INSERT INTO send_reservations (kind, to_number, body_hash, sid, state, estimated_cost, at, settled_at) VALUES ($1, $2, $3, $4, 'sent', $5, $6, $6)",
      [r.kind, r.to, r.bodyHash, r.sid, r.estimatedCost, r.at],
    );
  }

  async sendTotals(hourStart: Date, dayStart: Date) {
    return (await this.readLedger({ to: '', bodyHash: null, duplicateSince: null, hourStart, dayStart })).totals;
  }

  async findRecentSend(to: string, bodyHash: string, since: Date): Promise<EarlierSendRow | undefined> {
    const { rows } = await this.pool.query<{ id: string; sid: string | null; at: Date; state: ReservationState }>(
      `SELECT id, sid, at, state FROM send_reservations WHERE to_number = $1 AND body_hash = $2 AND at >= $3 AND ${COUNTS} ORDER BY at DESC, id DESC LIMIT 1`,
      [to, bodyHash, since],
    );
    const row = rows[0];
    return row ? { sid: row.sid, at: row.at, state: row.state, reservationId: id(row.id) } : undefined;
  }

  async hasContacted(to: string): Promise<boolean> {
    const { rows } = await this.pool.query(`SELECT 1 FROM send_reservations WHERE to_number = $1 AND ${COUNTS} LIMIT 1`, [to]);
    return rows.length > 0;
  }

  async readLedger(keys: LedgerKeys): Promise<LedgerSnapshot> {
    // One statement: all three facts from one snapshot, like a read inside a transaction.
    const { rows } = await this.pool.query<LedgerRow>(LEDGER_SQL, ledgerValues(keys));
    return toSnapshot(rows[0]!);
  }

  /*
   * RESERVATION LOCK. Two instances must not both take the last slot of a cap, of the spend
   * budget or of a duplicate window. Those rules read aggregates over many rows (counts and
   * sums since the start of the hour or day, "any send of this content since …"), and the
   * row that would break them is one that does not exist yet: locking the rows a decision
   * read cannot stop another instance inserting a new one (a phantom). So every reservation
   * first locks the one row of `reservation_lock` (SELECT … FOR UPDATE), then reads the
   * ledger, decides, and inserts its reservation and audit intent before COMMIT releases
   * the lock: reservations on one database happen one at a time, which is exactly what
   * SQLite's BEGIN IMMEDIATE gives on one file. SERIALIZABLE isolation would also be
   * correct, but every concurrent reservation reads the same aggregate, so most of them
   * would abort with a serialisation failure and need a retry loop; waiting on one row lock
   * is cheaper and never fails.
   *
   * The lock is its own statement, before the ledger read: in READ COMMITTED each statement
   * sees the data committed when it starts, so a read in the same statement as the lock
   * would see the ledger as it was before the lock holder committed.
   *
   * Group commit: reservations that arrive while one transaction holds the lock wait in a
   * queue, and the next transaction takes them all, each decided in turn against the ledger
   * including the ones before it (its inserts are visible to its own later reads): one lock
   * wait and one commit for a burst of concurrent sends.
   */
  reserveSend(keys: LedgerKeys, decide: (ledger: LedgerSnapshot) => ReservationRequest): Promise<Reservation> {
    return new Promise<Reservation>((resolve, reject) => {
      this.reservationQueue.push({ keys, decide, resolve, reject });
      if (!this.reserving) void this.drainReservations();
    });
  }

  private readonly reservationQueue: PendingReservation[] = [];
  private reserving = false;

  /** Runs queued reservations, a batch per transaction, until the queue is empty. */
  private async drainReservations(): Promise<void> {
    this.reserving = true;
    try {
      while (this.reservationQueue.length > 0) {
        const batch = this.reservationQueue.splice(0, MAX_RESERVATION_BATCH);
        await this.reserveBatch(batch);
      }
    } finally {
      this.reserving = false;
    }
  }

  /**
   * One transaction for `batch`. A refusal (decide throws) refuses that send alone: it runs
   * before anything of its own is written. A database error aborts the transaction, so the
   * batch's sends are tried again one per transaction, and only the one that fails alone
   * is rejected with its error (as the webhook queue does).
   */
  private async reserveBatch(batch: PendingReservation[]): Promise<void> {
    type Outcome = { ok: true; reservation: Reservation } | { ok: false; error: unknown };
    let outcomes: Outcome[];
    try {
      outcomes = await this.transaction(async (client) => {
        const lock = await client.query('SELECT id FROM reservation_lock FOR UPDATE');
        // Without its row the lock would lock nothing, and caps would stop holding across instances.
        if (lock.rowCount !== 1) throw new Error('The reservation_lock table of the PostgreSQL store has lost its row: restore it (INSERT INTO reservation_lock VALUES (true)) before sending.');
        const results: Outcome[] = [];
        for (const pending of batch) {
          const { rows } = await client.query<LedgerRow>(LEDGER_SQL, ledgerValues(pending.keys));
          let request: ReservationRequest;
          try {
            request = pending.decide(toSnapshot(rows[0]!));
          } catch (error) {
            results.push({ ok: false, error });
            continue;
          }
          results.push({ ok: true, reservation: await this.insertReservation(client, request) });
        }
        return results;
      });
    } catch (error) {
      // An error PostgreSQL reported (it has a SQLSTATE) rolled the transaction back: nothing
      // of the batch was reserved, and each is tried alone. Without one (the connection broke,
      // perhaps during COMMIT) the batch may or may not be on disk, so none is tried again: a
      // reservation that did commit stays in flight and counts, the safe side.
      if (batch.length > 1 && typeof (error as { code?: unknown }).code === 'string') {
        for (const pending of batch) await this.reserveBatch([pending]);
        return;
      }
      for (const pending of batch) pending.reject(error);
      return;
    }
    // Only after COMMIT: a resolved reservation is on disk.
    outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.reservation) : batch[i]!.reject(outcome.error)));
  }

  private async insertReservation(client: pg.PoolClient, request: ReservationRequest): Promise<Reservation> {
    const a = request.audit;
    const { rows } = await client.query<ReservationRow>(
      `WITH intent AS (
         INSERT INTO audit_log (at, tool, arguments, result_sid, error, client_name, session_id, outcome)
         VALUES ($1, $2, $3::jsonb, NULL, NULL, $4, $5, 'in_flight') RETURNING id
       )
       INSERT INTO send_reservations (kind, channel, to_number, body_hash, state, estimated_cost, at, send_at, owner_pid, owner_host, owner_instance, audit_id, from_address)
       VALUES ($6, $7, $8, $9, 'in_flight', $10, $11, $12, $13, $14, $15, (SELECT id FROM intent), $16)
       RETURNING *`,
      [
        a.at,
        a.tool,
        json(a.arguments),
        a.clientName,
        a.sessionId,
        request.kind,
        request.channel,
        request.to,
        request.bodyHash,
        request.estimatedCost,
        request.at,
        request.sendAt,
        process.pid,
        this.host,
        this.instanceId,
        request.from ?? null,
      ],
    );
    return toReservation(rows[0]!);
  }

  async settleSend(reservationId: number, settlement: Settlement): Promise<void> {
    const sid = settlement.state === 'sent' ? settlement.sid : null;
    const error = settlement.state === 'sent' ? null : settlement.error;
    // One statement: the reservation and its audit row change together.
    await this.pool.query(
      `WITH settled AS (
         UPDATE send_reservations SET state = $1, sid = COALESCE($2, sid), error = $3, settled_at = $4 WHERE id = $5 RETURNING audit_id
       )
       UPDATE audit_log SET outcome = $1, result_sid = COALESCE($2, result_sid), error = $3 WHERE id = (SELECT audit_id FROM settled)`,
      [settlement.state, sid, error, settlement.at, reservationId],
    );
  }

  /**
   * This host's in-flight reservations whose process is gone become outcome_unknown. A row
   * with our own pid is a predecessor's that had the same pid (a container restarted as pid
   * 1, say): at start we have reserved nothing yet — SQLite's rule. Rows of other hosts are
   * not ours to judge (a pid means nothing across machines): the heartbeat of each instance
   * recovers those (another piece of work).
   */
  recoverInFlight(isAlive: (pid: number) => boolean, at: Date): Promise<Reservation[]> {
    const why = 'The server stopped while Twilio held this request: it may or may not have been sent.';
    return this.transaction(async (client) => {
      const { rows } = await client.query<ReservationRow>("SELECT * FROM send_reservations WHERE state = 'in_flight' AND (owner_host = $1 OR owner_host IS NULL) ORDER BY id FOR UPDATE", [this.host]);
      const orphans = rows.filter((r) => r.owner_pid === null || r.owner_pid === process.pid || !isAlive(r.owner_pid));
      if (orphans.length === 0) return [];
      const ids = orphans.map((r) => r.id);
      await client.query("UPDATE send_reservations SET state = 'outcome_unknown', error = $1, settled_at = $2 WHERE id = ANY($3::bigint[])", [why, at, ids]);
      await client.query(
        "UPDATE audit_log SET outcome = 'outcome_unknown', error = $1 WHERE id IN (SELECT audit_id FROM send_reservations WHERE id = ANY($2::bigint[]))",
        [why, ids],
      );
      return orphans.map((r) => ({ ...toReservation(r), state: 'outcome_unknown' as const, error: why }));
    });
  }

  async findReservationBySid(sid: string): Promise<Reservation | undefined> {
    const { rows } = await this.pool.query<ReservationRow>('SELECT * FROM send_reservations WHERE sid = $1 ORDER BY id DESC LIMIT 1', [sid]);
    return rows[0] ? toReservation(rows[0]) : undefined;
  }

  // ---- IVR flows and call events --------------------------------------------------------

  async saveIvrFlow(name: string, definition: unknown, at: Date): Promise<boolean> {
    // xmax is 0 on a row this statement inserted, and set on one it updated (ON CONFLICT
    // locks the old row): "new or replaced" in one atomic statement.
    const { rows } = await this.pool.query<{ inserted: boolean }>(
      `INSERT INTO ivr_flows (name, definition, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
       ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS inserted`,
      [name, json(definition), at],
    );
    return rows[0]!.inserted;
  }

  async getIvrFlow(name: string): Promise<StoredIvrFlow | undefined> {
    const { rows } = await this.pool.query<FlowRow>('SELECT * FROM ivr_flows WHERE name = $1', [name]);
    return rows[0] ? toFlow(rows[0]) : undefined;
  }

  async listIvrFlows(): Promise<StoredIvrFlow[]> {
    return (await this.pool.query<FlowRow>('SELECT * FROM ivr_flows ORDER BY name')).rows.map(toFlow);
  }

  deleteIvrFlow(name: string): Promise<boolean> {
    return this.transaction(async (client) => {
      await client.query('DELETE FROM inbound_call_flows WHERE flow_name = $1', [name]);
      return ((await client.query('DELETE FROM ivr_flows WHERE name = $1', [name])).rowCount ?? 0) > 0;
    });
  }

  async setInboundCallFlow(number: string, flowName: string | null, at: Date): Promise<void> {
    if (flowName === null) await this.pool.query('DELETE FROM inbound_call_flows WHERE number = $1', [number]);
    else {
      await this.pool.query(
        'INSERT INTO inbound_call_flows (number, flow_name, set_at) VALUES ($1, $2, $3) ON CONFLICT (number) DO UPDATE SET flow_name = excluded.flow_name, set_at = excluded.set_at',
        [number, flowName, at],
      );
    }
  }

  async getInboundCallFlow(number: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ flow_name: string }>('SELECT flow_name FROM inbound_call_flows WHERE number = $1', [number]);
    return rows[0]?.flow_name;
  }

  async listInboundCallFlows(flowName?: string): Promise<Array<{ number: string; flowName: string; setAt: Date }>> {
    const { rows } = await this.pool.query<{ number: string; flow_name: string; set_at: Date }>(
      'SELECT * FROM inbound_call_flows WHERE ($1::text IS NULL OR flow_name = $1) ORDER BY number',
      [flowName ?? null],
    );
    return rows.map((r) => ({ number: r.number, flowName: r.flow_name, setAt: r.set_at }));
  }

  async appendCallEvent(e: CallEvent): Promise<void> {
    await this.pool.query(
      'INSERT INTO call_events (call_sid, flow_name, step, kind, digits, speech, confidence, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [e.callSid, e.flowName, e.step, e.kind, e.digits, e.speech, e.confidence, e.detail, e.at],
    );
  }

  async listCallEvents(callSid: string): Promise<CallEvent[]> {
    const { rows } = await this.pool.query<{
      call_sid: string; flow_name: string | null; step: string | null; kind: string; digits: string | null; speech: string | null; confidence: number | null; detail: string | null; at: Date;
    }>('SELECT * FROM call_events WHERE call_sid = $1 ORDER BY id', [callSid]);
    return rows.map((r) => ({
      callSid: r.call_sid, flowName: r.flow_name, step: r.step, kind: r.kind, digits: r.digits, speech: r.speech, confidence: r.confidence, detail: r.detail, at: r.at,
    }));
  }

  // ---- live conversations ---------------------------------------------------------------

  async openRelaySession(r: Omit<RelaySession, 'endedAt' | 'outcome' | 'callSid'>): Promise<void> {
    await this.pool.query(
      'INSERT INTO relay_sessions (session_id, to_number, purpose, started_at, owner_pid, owner_host, owner_instance) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [r.sessionId, r.to, r.purpose, r.startedAt, process.pid, this.host, this.instanceId],
    );
  }

  async bindRelaySession(sessionId: string, callSid: string): Promise<void> {
    await this.pool.query('UPDATE relay_sessions SET call_sid = $1 WHERE session_id = $2', [callSid, sessionId]);
  }

  async endRelaySession(sessionId: string, outcome: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE relay_sessions SET ended_at = $1, outcome = $2 WHERE session_id = $3 AND ended_at IS NULL', [at, outcome, sessionId]);
  }

  async getRelaySession(sessionId: string): Promise<RelaySession | undefined> {
    const { rows } = await this.pool.query<RelayRow>('SELECT * FROM relay_sessions WHERE session_id = $1', [sessionId]);
    return rows[0] ? toRelay(rows[0]) : undefined;
  }

  async findRelaySessionByCall(callSid: string): Promise<RelaySession | undefined> {
    const { rows } = await this.pool.query<RelayRow>('SELECT * FROM relay_sessions WHERE call_sid = $1 ORDER BY started_at DESC LIMIT 1', [callSid]);
    return rows[0] ? toRelay(rows[0]) : undefined;
  }

  /**
   * The open sessions a stopped process of this host left: those of a pid that no longer
   * runs, or of our own pid (a predecessor's, as in recoverInFlight). Returned as they were
   * found (open), as SQLite does. Another host's sessions may be live on that host: its
   * heartbeat recovers them (another piece of work).
   */
  endOrphanRelaySessions(at: Date): Promise<RelaySession[]> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<RelayRow>(
        'SELECT * FROM relay_sessions WHERE ended_at IS NULL AND (owner_host = $1 OR owner_host IS NULL) ORDER BY started_at, session_id FOR UPDATE',
        [this.host],
      );
      const orphans = rows.filter((r) => r.owner_pid === null || r.owner_pid === process.pid || !this.isAlive(r.owner_pid));
      if (orphans.length === 0) return [];
      await client.query("UPDATE relay_sessions SET ended_at = $1, outcome = 'server_restarted' WHERE session_id = ANY($2::text[]) AND ended_at IS NULL", [
        at,
        orphans.map((r) => r.session_id),
      ]);
      return orphans.map(toRelay);
    });
  }

  async appendTranscript(sessionId: string, e: TranscriptEntry): Promise<void> {
    await this.pool.query('INSERT INTO relay_transcript (session_id, at, speaker, kind, text) VALUES ($1, $2, $3, $4, $5)', [sessionId, e.at, e.speaker, e.kind, e.text]);
  }

  async listTranscript(sessionId: string): Promise<TranscriptEntry[]> {
    const { rows } = await this.pool.query<{ at: Date; speaker: TranscriptEntry['speaker']; kind: string; text: string }>(
      'SELECT at, speaker, kind, text FROM relay_transcript WHERE session_id = $1 ORDER BY id',
      [sessionId],
    );
    return rows.map((r) => ({ at: r.at, speaker: r.speaker, kind: r.kind, text: r.text }));
  }

  // ---- insights -------------------------------------------------------------------------

  async messagesSentBetween(start: Date, end: Date): Promise<SentMessageFact[]> {
    const { rows } = await this.pool.query<{
      sid: string | null; to_number: string; from_address: string | null; channel: string | null; state: ReservationState; at: Date; estimated_cost: number; status: string | null; error_code: number | null; delivered_at: Date | null;
    }>(
      `SELECT r.sid, r.to_number, r.from_address, r.channel, r.state, r.at, r.estimated_cost, c.status, c.error_code,
         (SELECT min(h.at) FROM status_history h WHERE h.kind = 'message' AND h.sid = r.sid AND h.status = 'delivered') AS delivered_at
       FROM send_reservations r LEFT JOIN status_current c ON c.kind = 'message' AND c.sid = r.sid
       WHERE r.kind = 'message' AND r.state IN ('sent', 'outcome_unknown', 'in_flight') AND r.at >= $1 AND r.at < $2 ORDER BY r.at, r.id`,
      [start, end],
    );
    return rows.map((r) => ({
      sid: r.sid, to: r.to_number, from: r.from_address, channel: r.channel, state: r.state, at: r.at, estimatedCost: r.estimated_cost,
      status: r.status, errorCode: r.error_code, deliveredAt: r.delivered_at,
    }));
  }

  async optOutChangesBetween(start: Date, end: Date): Promise<OptOutAuditEntry[]> {
    const { rows } = await this.pool.query<OptOutAuditRow>('SELECT * FROM opt_out_audit WHERE at >= $1 AND at < $2 ORDER BY id', [start, end]);
    return rows.map(toOptOutAudit);
  }

  async countInboundBetween(start: Date, end: Date): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_messages WHERE received_at >= $1 AND received_at < $2', [start, end]);
    return rows[0]!.n;
  }

  // ---- the audit log --------------------------------------------------------------------

  async appendAudit(e: AuditEntry): Promise<number> {
    const { rows } = await this.pool.query<{ id: string }>(
      'INSERT INTO audit_log (at, tool, arguments, result_sid, error, client_name, session_id, outcome) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8) RETURNING id',
      [e.at, e.tool, json(e.arguments), e.resultSid, e.error, e.clientName, e.sessionId, e.outcome ?? null],
    );
    return id(rows[0]!.id);
  }

  async listAudit(filter: { tool?: string; since?: Date; limit: number }): Promise<AuditEntry[]> {
    const where = new Where();
    if (filter.tool) where.add((p) => `tool = ${p}`, filter.tool);
    if (filter.since) where.add((p) => `at >= ${p}`, filter.since);
    const sql = `SELECT * FROM audit_log ${where.sql()} ORDER BY id DESC LIMIT ${where.next(filter.limit)}`;
    const { rows } = await this.pool.query<{
      at: Date; tool: string; arguments: Record<string, unknown>; result_sid: string | null; error: string | null; client_name: string | null; session_id: string | null; outcome: ReservationState | null;
    }>(sql, where.values);
    return rows.map((r) => ({
      at: r.at,
      tool: r.tool,
      arguments: r.arguments,
      resultSid: r.result_sid,
      error: r.error,
      clientName: r.client_name,
      sessionId: r.session_id,
      outcome: r.outcome,
    }));
  }

  /** Waits for queued reservations, then closes the pool if this store opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.reserving) await new Promise((resolve) => setImmediate(resolve));
    if (this.ownsPool) await this.pool.end();
  }
}

interface PendingReservation {
  keys: LedgerKeys;
  decide: (ledger: LedgerSnapshot) => ReservationRequest;
  resolve: (reservation: Reservation) => void;
  reject: (error: unknown) => void;
}

/** Reservations one transaction takes at most: bounds how long the lock is held. */
const MAX_RESERVATION_BATCH = 32;

/**
 * Opens the PostgreSQL store at `url` (or on `pool`, which the caller keeps and closes),
 * applying the "store" schema migrations first. Throws SchemaVersionError (migrate.ts) for
 * a database a newer server has migrated.
 */
export async function openPostgresStore(target: string | pg.Pool, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const ownsPool = typeof target === 'string';
  const pool = typeof target === 'string' ? createPool(target, { max: options.poolSize ?? DEFAULT_POOL_SIZE }) : target;
  try {
    await migrate(pool, 'store', STORE_MIGRATIONS);
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => {});
    throw error;
  }
  return new PostgresStore(pool, ownsPool, options);
}
