/**
 * The SQLite store (better-sqlite3, WAL). Durability: `synchronous = FULL`, so a commit
 * is fsynced before it returns — "a 200 means the event is on disk" holds even across a
 * power cut, not only a crashed process. The cost of an fsync per webhook is paid once
 * per batch: the receiver commits concurrent webhooks together (ingestBatch). Send
 * reservations do the same by themselves (group commit, group-commit.ts): the ones made in
 * one turn of the event loop share one BEGIN IMMEDIATE and one fsync, and none is reported
 * reserved before that COMMIT, so each is still on disk before its request leaves.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GroupCommit, outcomeOf } from './group-commit.js';
import { MIGRATIONS } from './migrations.js';
import { statusAdvances } from './status-order.js';
import type {
  AuditEntry,
  InboundFilter,
  InboundMessage,
  Ingest,
  IngestResult,
  OptOut,
  OptOutAuditEntry,
  OptOutChange,
  OptOutChannel,
  CallEvent,
  StoredIvrFlow,
  RelaySession,
  TranscriptEntry,
  Reservation,
  ReservationRequest,
  ReservationState,
  SendRecord,
  Settlement,
  SendTotals,
  StatusRecord,
  Store,
  WebhookEvent,
  EarlierSendRow,
  LedgerKeys,
  LedgerSnapshot,
} from './store.js';
import { BLOCKS_MESSAGES } from './store.js';

const iso = (d: Date) => d.toISOString();
const date = (s: string | null) => (s ? new Date(s) : null);

interface InboundRow {
  message_sid: string;
  from_number: string;
  to_number: string;
  body: string;
  media: string;
  messaging_service_sid: string | null;
  channel: InboundMessage['channel'];
  profile_name: string | null;
  keyword: string | null;
  received_at: string;
  read_at: string | null;
}

const toInbound = (r: InboundRow): InboundMessage => ({
  messageSid: r.message_sid,
  from: r.from_number,
  to: r.to_number,
  body: r.body,
  media: JSON.parse(r.media) as InboundMessage['media'],
  messagingServiceSid: r.messaging_service_sid,
  channel: r.channel,
  profileName: r.profile_name,
  keyword: r.keyword,
  receivedAt: new Date(r.received_at),
  readAt: date(r.read_at),
});

interface OptOutRow {
  sender: string;
  recipient: string;
  channel: OptOutChannel;
  source: OptOut['source'];
  keyword: string | null;
  reason: string | null;
  created_at: string;
}
const toOptOut = (r: OptOutRow): OptOut => ({
  sender: r.sender,
  recipient: r.recipient,
  channel: r.channel,
  source: r.source,
  keyword: r.keyword,
  reason: r.reason,
  createdAt: new Date(r.created_at),
});

interface RelayRow {
  session_id: string;
  call_sid: string | null;
  to_number: string;
  purpose: string;
  started_at: string;
  ended_at: string | null;
  outcome: string | null;
}
const toRelay = (r: RelayRow): RelaySession => ({
  sessionId: r.session_id,
  callSid: r.call_sid,
  to: r.to_number,
  purpose: r.purpose,
  startedAt: new Date(r.started_at),
  endedAt: r.ended_at ? new Date(r.ended_at) : null,
  outcome: r.outcome,
});

interface FlowRow {
  name: string;
  definition: string;
  created_at: string;
  updated_at: string;
}
const toFlow = (r: FlowRow): StoredIvrFlow => ({
  name: r.name,
  definition: JSON.parse(r.definition) as unknown,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

interface ReservationRow {
  id: number;
  kind: Reservation['kind'];
  channel: string | null;
  to_number: string;
  body_hash: string | null;
  sid: string | null;
  state: ReservationState;
  estimated_cost: number;
  at: string;
  send_at: string | null;
  error: string | null;
  audit_id: number | null;
}
const toReservation = (r: ReservationRow): Reservation => ({
  id: r.id,
  kind: r.kind,
  channel: r.channel,
  to: r.to_number,
  bodyHash: r.body_hash,
  sid: r.sid,
  state: r.state,
  estimatedCost: r.estimated_cost,
  at: new Date(r.at),
  sendAt: date(r.send_at),
  error: r.error,
  auditId: r.audit_id,
});

/** Reservations in these states count against caps, spend and duplicates. */
const COUNTS = "state <> 'released'";

/** Totals for one pair of windows, as of a ledger version. */
interface KnownTotals {
  version: number;
  hourStart: string;
  dayStart: string;
  totals: SendTotals;
}

/**
 * The send totals one group of reservations decides against: read from the table once per
 * window pair (the query scans the day's reservations) unless the previous group left them
 * for this very ledger version, then kept up to date in memory as the group reserves,
 * exactly as the query would count (released rows never enter here).
 */
class GroupTotals {
  private readonly read = new Map<string, { hourStart: string; dayStart: string; totals: SendTotals }>();
  private last: string | undefined;

  constructor(
    private readonly query: (hourStart: Date, dayStart: Date) => SendTotals,
    start?: KnownTotals,
  ) {
    if (start) this.read.set(`${start.hourStart}|${start.dayStart}`, { hourStart: start.hourStart, dayStart: start.dayStart, totals: { ...start.totals } });
  }

  of(hourStart: Date, dayStart: Date): SendTotals {
    const key = `${iso(hourStart)}|${iso(dayStart)}`;
    let entry = this.read.get(key);
    if (!entry) this.read.set(key, (entry = { hourStart: iso(hourStart), dayStart: iso(dayStart), totals: { ...this.query(hourStart, dayStart) } }));
    this.last = key;
    return { ...entry.totals };
  }

  /** The windows used last, as they stand after the group, for the ledger at `version`. */
  known(version: number): KnownTotals | undefined {
    const entry = this.last === undefined ? undefined : this.read.get(this.last);
    return entry && { version, hourStart: entry.hourStart, dayStart: entry.dayStart, totals: { ...entry.totals } };
  }

  /** A reservation just inserted, counted in every window it falls in (ISO strings compare as the query does). */
  count(kind: 'message' | 'call', at: Date, estimatedCost: number): void {
    const when = iso(at);
    for (const { hourStart, dayStart, totals } of this.read.values()) {
      if (when < dayStart) continue;
      totals.spendToday += estimatedCost;
      if (kind === 'call') totals.callsToday += 1;
      else {
        totals.messagesToday += 1;
        if (when >= hourStart) totals.messagesThisHour += 1;
      }
    }
  }
}

/** The database was written by a newer version of the server than this one. */
export class StoreVersionError extends Error {
  constructor(file: string, found: number, known: number) {
    super(
      `The store at ${file} has schema version ${found}; this mcp-server-twilio knows versions up to ${known}. ` +
        'Upgrade mcp-server-twilio, or set TWILIO_MCP_DATA_DIR to another directory.',
    );
    this.name = 'StoreVersionError';
  }
}

/** The main connection to `file` (created readable by this user only), its schema up to date. */
function openMigrated(file: string): Database.Database {
  if (file !== ':memory:' && !file.startsWith('file:') && !existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  // The busy timeout first: switching to WAL needs a lock another server may hold for a moment.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db, file);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Creates or migrates the store file at `file` and closes it (for components with connections of their own, such as the outbox). */
export function migrateSqliteFile(file: string): void {
  openMigrated(file).close();
}

/**
 * Opens (creating and migrating it if needed) the SQLite store at `file`, or an in-memory
 * one for ':memory:'. A new file is created readable by this user only; SQLite gives its
 * -wal and -shm files the same permissions.
 */
export function openSqliteStore(file: string): Store {
  const db = openMigrated(file);
  // Bookkeeping written on every send (the send ledger, the audit log) goes through a second
  // connection with synchronous = NORMAL: in WAL mode that survives a crashed or killed
  // process (all "restarts" mean), and saves an fsync on the hot path of every send. Only a
  // power cut can lose its last commits; webhooks and opt-outs keep the fsync.
  const bookkeeping = file === ':memory:' ? db : new Database(file);
  if (bookkeeping !== db) {
    bookkeeping.pragma('synchronous = NORMAL');
    bookkeeping.pragma('busy_timeout = 5000');
  }

  const s = {
    // ON CONFLICT DO NOTHING, not INSERT OR IGNORE: only a uniqueness conflict means "duplicate";
    // a NOT NULL violation must fail loudly, not pass for a replay.
    insertEvent: db.prepare(
      'INSERT INTO webhook_events (kind, sid, status, idempotency_token, received_at, params) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertInbound: db.prepare(`INSERT INTO inbound_messages
      (message_sid, from_number, to_number, body, media, messaging_service_sid, channel, profile_name, keyword, received_at)
      VALUES (@messageSid, @from, @to, @body, @media, @messagingServiceSid, @channel, @profileName, @keyword, @receivedAt)
      ON CONFLICT DO NOTHING`),
    currentStatus: db.prepare('SELECT status FROM status_current WHERE kind = ? AND sid = ?').pluck(),
    upsertStatus: db.prepare(`INSERT INTO status_current (kind, sid, status, error_code, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (kind, sid) DO UPDATE SET status = excluded.status, error_code = COALESCE(excluded.error_code, status_current.error_code), updated_at = excluded.updated_at`),
    insertHistory: db.prepare('INSERT INTO status_history (kind, sid, status, error_code, at, applied) VALUES (?, ?, ?, ?, ?, ?)'),
    getStatus: db.prepare('SELECT status, error_code, updated_at FROM status_current WHERE kind = ? AND sid = ?'),
    getHistory: db.prepare('SELECT status, error_code, at, applied FROM status_history WHERE kind = ? AND sid = ? ORDER BY id'),
    upsertRecording: db.prepare(`INSERT INTO recordings (recording_sid, call_sid, status, url, duration_seconds, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (recording_sid) DO UPDATE SET status = excluded.status, url = COALESCE(excluded.url, recordings.url),
      duration_seconds = COALESCE(excluded.duration_seconds, recordings.duration_seconds), updated_at = excluded.updated_at`),
    addOptOut: db.prepare(`INSERT INTO opt_outs (sender, recipient, source, keyword, reason, created_at, channel) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (sender, recipient) DO NOTHING`),
    setOptOutChannel: db.prepare('UPDATE opt_outs SET channel = ? WHERE sender = ? AND recipient = ?'),
    removeOptOut: db.prepare('DELETE FROM opt_outs WHERE sender = ? AND recipient = ?'),
    auditOptOut: db.prepare('INSERT INTO opt_out_audit (action, sender, recipient, source, keyword, reason, at, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    findOptOut: db.prepare('SELECT * FROM opt_outs WHERE sender = ? AND recipient = ?'),
    findOptOutOn: db.prepare('SELECT * FROM opt_outs WHERE sender = ? AND recipient = ? AND channel IN (SELECT value FROM json_each(?))'),
    saveFlow: db.prepare(`INSERT INTO ivr_flows (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`),
    getFlow: db.prepare('SELECT * FROM ivr_flows WHERE name = ?'),
    listFlows: db.prepare('SELECT * FROM ivr_flows ORDER BY name'),
    deleteFlow: db.prepare('DELETE FROM ivr_flows WHERE name = ?'),
    deleteFlowUses: db.prepare('DELETE FROM inbound_call_flows WHERE flow_name = ?'),
    setInboundFlow: db.prepare(`INSERT INTO inbound_call_flows (number, flow_name, set_at) VALUES (?, ?, ?)
      ON CONFLICT (number) DO UPDATE SET flow_name = excluded.flow_name, set_at = excluded.set_at`),
    clearInboundFlow: db.prepare('DELETE FROM inbound_call_flows WHERE number = ?'),
    getInboundFlow: db.prepare('SELECT flow_name FROM inbound_call_flows WHERE number = ?').pluck(),
    listInboundFlows: db.prepare('SELECT * FROM inbound_call_flows WHERE (? IS NULL OR flow_name = ?) ORDER BY number'),
    appendCallEvent: bookkeeping.prepare(
      'INSERT INTO call_events (call_sid, flow_name, step, kind, digits, speech, confidence, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    callEvents: db.prepare('SELECT * FROM call_events WHERE call_sid = ? ORDER BY id'),
    openRelay: db.prepare('INSERT INTO relay_sessions (session_id, to_number, purpose, started_at) VALUES (?, ?, ?, ?)'),
    bindRelay: db.prepare('UPDATE relay_sessions SET call_sid = ? WHERE session_id = ?'),
    endRelay: db.prepare('UPDATE relay_sessions SET ended_at = ?, outcome = ? WHERE session_id = ? AND ended_at IS NULL'),
    getRelay: db.prepare('SELECT * FROM relay_sessions WHERE session_id = ?'),
    relayByCall: db.prepare('SELECT * FROM relay_sessions WHERE call_sid = ? ORDER BY started_at DESC LIMIT 1'),
    openRelays: db.prepare('SELECT * FROM relay_sessions WHERE ended_at IS NULL'),
    appendTranscript: db.prepare('INSERT INTO relay_transcript (session_id, at, speaker, kind, text) VALUES (?, ?, ?, ?, ?)'),
    transcript: db.prepare('SELECT * FROM relay_transcript WHERE session_id = ? ORDER BY id'),
    markRead: db.prepare('UPDATE inbound_messages SET read_at = ? WHERE message_sid = ? AND read_at IS NULL'),
    unreadFrom: db.prepare('SELECT * FROM inbound_messages WHERE from_number = ? AND received_at >= ? AND read_at IS NULL ORDER BY received_at, rowid LIMIT 1'),
    recordSend: bookkeeping.prepare(
      "INSERT INTO send_reservations (kind, to_number, body_hash, sid, state, estimated_cost, at, settled_at) VALUES (?, ?, ?, ?, 'sent', ?, ?, ?)",
    ),
    sendTotals: db.prepare(`SELECT
        COALESCE(SUM(kind = 'message' AND at >= @hour), 0) AS messagesThisHour,
        COALESCE(SUM(kind = 'message'), 0) AS messagesToday,
        COALESCE(SUM(kind = 'call'), 0) AS callsToday,
        COALESCE(SUM(estimated_cost), 0) AS spendToday
      FROM send_reservations WHERE at >= @day AND ${COUNTS}`),
    recentSend: db.prepare(
      `SELECT id, sid, at, state FROM send_reservations WHERE to_number = ? AND body_hash = ? AND at >= ? AND ${COUNTS} ORDER BY at DESC, id DESC LIMIT 1`,
    ),
    contacted: db.prepare(`SELECT 1 FROM send_reservations WHERE to_number = ? AND ${COUNTS} LIMIT 1`).pluck(),
    ledgerVersion: db.prepare('SELECT version FROM ledger_version WHERE id = 1').pluck(),
    reserve: db.prepare(`INSERT INTO send_reservations (kind, channel, to_number, body_hash, state, estimated_cost, at, send_at, owner_pid, audit_id, from_address)
      VALUES (@kind, @channel, @to, @bodyHash, 'in_flight', @estimatedCost, @at, @sendAt, @ownerPid, @auditId, @from) RETURNING *`),
    sentBetween: db.prepare(`SELECT r.sid, r.to_number, r.from_address, r.channel, r.state, r.at, r.estimated_cost, c.status, c.error_code,
        (SELECT MIN(h.at) FROM status_history h WHERE h.kind = 'message' AND h.sid = r.sid AND h.status = 'delivered') AS delivered_at
      FROM send_reservations r LEFT JOIN status_current c ON c.kind = 'message' AND c.sid = r.sid
      WHERE r.kind = 'message' AND r.state IN ('sent', 'outcome_unknown', 'in_flight') AND r.at >= ? AND r.at < ? ORDER BY r.at`),
    optOutChangesBetween: db.prepare('SELECT * FROM opt_out_audit WHERE at >= ? AND at < ? ORDER BY id'),
    inboundBetween: db.prepare('SELECT COUNT(*) FROM inbound_messages WHERE received_at >= ? AND received_at < ?').pluck(),
    auditIntent: db.prepare(
      "INSERT INTO audit_log (at, tool, arguments, result_sid, error, client_name, session_id, outcome) VALUES (?, ?, ?, NULL, NULL, ?, ?, 'in_flight')",
    ),
    // Settling goes through the bookkeeping connection: a settlement lost to a power cut leaves
    // the reservation in flight, which the next start turns into outcome_unknown — the safe side.
    settle: bookkeeping.prepare('UPDATE send_reservations SET state = ?, sid = COALESCE(?, sid), error = ?, settled_at = ? WHERE id = ? RETURNING audit_id').pluck(),
    settleAudit: bookkeeping.prepare('UPDATE audit_log SET outcome = ?, result_sid = COALESCE(?, result_sid), error = ? WHERE id = ?'),
    inFlight: db.prepare("SELECT * FROM send_reservations WHERE state = 'in_flight' ORDER BY id"),
    markUnknown: db.prepare(
      "UPDATE send_reservations SET state = 'outcome_unknown', error = ?, settled_at = ? WHERE id = ? AND state = 'in_flight'",
    ),
    markAuditUnknown: db.prepare("UPDATE audit_log SET outcome = 'outcome_unknown', error = ? WHERE id = ?"),
    reservationBySid: db.prepare('SELECT * FROM send_reservations WHERE sid = ? ORDER BY id DESC LIMIT 1'),
    anyOptOut: db.prepare('SELECT * FROM opt_outs WHERE recipient = ? AND channel IN (SELECT value FROM json_each(?)) ORDER BY created_at, rowid LIMIT 1'),
    appendAudit: bookkeeping.prepare(
      'INSERT INTO audit_log (at, tool, arguments, result_sid, error, client_name, session_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  };

  // Queries whose WHERE depends on the filter: one prepared statement per shape, made once.
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const filtered = (table: string, where: string[], order: string) =>
    prepared(`SELECT * FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`);

  /** Channels combine as sets: sms + voice = all; all − sms = voice. */
  function applyOptOut(change: OptOutChange, at: Date): boolean {
    const channel = change.channel ?? 'sms';
    const existing = s.findOptOut.get(change.sender, change.recipient) as OptOutRow | undefined;
    let changed = false;
    if (change.action === 'add') {
      if (!existing) {
        changed = s.addOptOut.run(change.sender, change.recipient, change.source, change.keyword ?? null, change.reason ?? null, iso(at), channel).changes > 0;
      } else if (existing.channel !== channel && existing.channel !== 'all') {
        changed = s.setOptOutChannel.run('all', change.sender, change.recipient).changes > 0;
      }
    } else if (existing) {
      if (channel === 'all' || existing.channel === channel) changed = s.removeOptOut.run(change.sender, change.recipient).changes > 0;
      else if (existing.channel === 'all') changed = s.setOptOutChannel.run(channel === 'sms' ? 'voice' : 'sms', change.sender, change.recipient).changes > 0;
    }
    s.auditOptOut.run(change.action, change.sender, change.recipient, change.source, change.keyword ?? null, change.reason ?? null, iso(at), channel);
    return changed;
  }

  function applyStatus(kind: 'message' | 'call', sid: string, status: string, errorCode: number | null, at: Date): void {
    const current = s.currentStatus.get(kind, sid) as string | undefined;
    const advances = statusAdvances(kind, current, status);
    s.insertHistory.run(kind, sid, status, errorCode, iso(at), advances ? 1 : 0);
    if (advances) s.upsertStatus.run(kind, sid, status, errorCode, iso(at));
  }

  function applyOne(event: WebhookEvent, change: Ingest): IngestResult {
    const inserted = s.insertEvent.run(event.kind, event.sid, event.status, event.idempotencyToken, iso(event.receivedAt), JSON.stringify(event.params));
    if (inserted.changes === 0) return { duplicate: true };
    switch (change.kind) {
      case 'inbound_message': {
        const m = change.message;
        s.insertInbound.run({ ...m, media: JSON.stringify(m.media), receivedAt: iso(m.receivedAt) });
        for (const optOut of change.optOuts) applyOptOut(optOut, m.receivedAt);
        break;
      }
      case 'message_status':
        applyStatus('message', change.sid, change.status, change.errorCode, change.at);
        break;
      case 'call_status':
        applyStatus('call', change.sid, change.status, change.errorCode, change.at);
        break;
      case 'recording':
        s.upsertRecording.run(change.recordingSid, change.callSid, change.status, change.url, change.durationSeconds, iso(change.at));
        break;
      case 'conversation_event':
        break;
    }
    return { duplicate: false };
  }

  const ingestBatch = db.transaction((items: Array<{ event: WebhookEvent; change: Ingest }>) =>
    items.map(({ event, change }) => applyOne(event, change)),
  );

  const sendTotals = (hourStart: Date, dayStart: Date) => s.sendTotals.get({ hour: iso(hourStart), day: iso(dayStart) }) as SendTotals;
  const findRecentSend = (to: string, bodyHash: string, since: Date): EarlierSendRow | undefined => {
    const row = s.recentSend.get(to, bodyHash, iso(since)) as { id: number; sid: string | null; at: string; state: ReservationState } | undefined;
    return row ? { sid: row.sid, at: new Date(row.at), state: row.state, reservationId: row.id } : undefined;
  };
  const hasContacted = (to: string) => s.contacted.get(to) !== undefined;
  /**
   * The facts `keys` names, read on the main connection (inside whatever transaction is
   * open). `totals` is read once per window pair and group: see GroupTotals.
   */
  const ledgerSnapshot = (keys: LedgerKeys, totals: GroupTotals = new GroupTotals(sendTotals)): LedgerSnapshot => ({
    totals: totals.of(keys.hourStart, keys.dayStart),
    earlier: keys.bodyHash !== null && keys.duplicateSince !== null ? findRecentSend(keys.to, keys.bodyHash, keys.duplicateSince) : undefined,
    contacted: hasContacted(keys.to),
  });
  // One read transaction: the three reads see the same moment of the ledger.
  const readLedger = db.transaction((keys: LedgerKeys) => ledgerSnapshot(keys));

  // The decision and the reservation commit together: `decide` runs inside the write lock,
  // against the ledger as it stands under that lock, the reservations before it in the same
  // group included. Nested in the group's transaction, so a savepoint: a refusal (decide
  // throws) rolls back this reservation only.
  const reserveOne = db.transaction((keys: LedgerKeys, decide: (ledger: LedgerSnapshot) => ReservationRequest, totals: GroupTotals): Reservation => {
    const request = decide(ledgerSnapshot(keys, totals));
    const a = request.audit;
    const auditId = Number(s.auditIntent.run(iso(a.at), a.tool, JSON.stringify(a.arguments), a.clientName, a.sessionId).lastInsertRowid);
    const row = s.reserve.get({
      kind: request.kind,
      channel: request.channel,
      to: request.to,
      bodyHash: request.bodyHash,
      estimatedCost: request.estimatedCost,
      at: iso(request.at),
      sendAt: request.sendAt ? iso(request.sendAt) : null,
      from: request.from ?? null,
      ownerPid: process.pid,
      auditId,
    }) as ReservationRow;
    const reservation = toReservation(row);
    totals.count(request.kind, request.at, request.estimatedCost);
    return reservation;
  });
  // Group commit: the reservations of one event-loop turn share one BEGIN IMMEDIATE and
  // one fsync (synchronous = FULL). Each is decided in turn, in its own savepoint; every
  // promise settles after the COMMIT, so a reservation is on disk before its send leaves.
  // The totals the last committed group ended with, and the ledger version they match
  // (migration 9): the next group starts from them when nobody else changed the ledger.
  let knownTotals: KnownTotals | undefined;
  type ReserveItem = { keys: LedgerKeys; decide: (ledger: LedgerSnapshot) => ReservationRequest };
  const reserveGroup = db.transaction((items: ReserveItem[]) => {
    const version = s.ledgerVersion.get() as number;
    const totals = new GroupTotals(sendTotals, knownTotals?.version === version ? knownTotals : undefined);
    const outcomes = items.map(({ keys, decide }) => outcomeOf(() => reserveOne(keys, decide, totals)));
    // Read under the same write lock, after this group's inserts bumped it.
    return { outcomes, known: totals.known(s.ledgerVersion.get() as number) };
  });
  const reservations = new GroupCommit<ReserveItem, Reservation>((items) => {
    const { outcomes, known } = reserveGroup.immediate(items);
    // Only a committed group's totals are known to be the ledger's.
    knownTotals = known ?? knownTotals;
    return outcomes;
  });

  const settleOne = bookkeeping.transaction((id: number, settlement: Settlement) => {
    const sid = settlement.state === 'sent' ? settlement.sid : null;
    const error = settlement.state === 'sent' ? null : settlement.error;
    const auditId = s.settle.get(settlement.state, sid, error, iso(settlement.at), id) as number | null | undefined;
    if (auditId) s.settleAudit.run(settlement.state, sid, error, auditId);
  });
  // Settlements of one turn share a transaction too (bookkeeping connection, synchronous =
  // NORMAL as before: what a lost settlement means is argued above).
  const settlements = new GroupCommit<{ id: number; settlement: Settlement }, void>(
    bookkeeping.transaction((items: Array<{ id: number; settlement: Settlement }>) => items.map(({ id, settlement }) => outcomeOf(() => settleOne(id, settlement)))).immediate,
  );

  const recover = db.transaction((isAlive: (pid: number) => boolean, at: Date): Reservation[] => {
    const orphans = (s.inFlight.all() as Array<ReservationRow & { owner_pid: number | null }>).filter(
      // Our own pid on a row means a predecessor with the same pid (we have reserved nothing yet).
      (r) => r.owner_pid === null || r.owner_pid === process.pid || !isAlive(r.owner_pid),
    );
    const why = 'The server stopped while Twilio held this request: it may or may not have been sent.';
    for (const r of orphans) {
      s.markUnknown.run(why, iso(at), r.id);
      if (r.audit_id) s.markAuditUnknown.run(why, r.audit_id);
    }
    return orphans.map((r) => ({ ...toReservation(r), state: 'outcome_unknown' as const, error: why }));
  });

  function statusRecord(kind: 'message' | 'call', sid: string): StatusRecord | undefined {
    const row = s.getStatus.get(kind, sid) as { status: string; error_code: number | null; updated_at: string } | undefined;
    if (!row) return undefined;
    const history = (s.getHistory.all(kind, sid) as Array<{ status: string; error_code: number | null; at: string; applied: number }>).map((h) => ({
      status: h.status,
      errorCode: h.error_code,
      at: new Date(h.at),
      applied: h.applied === 1,
    }));
    return { sid, current: row.status, errorCode: row.error_code, updatedAt: new Date(row.updated_at), history };
  }

  const markRead = db.transaction((sids: string[], at: Date) => sids.reduce((n, sid) => n + s.markRead.run(iso(at), sid).changes, 0));
  const applyOptOutInTransaction = db.transaction((change: OptOutChange, at: Date) => applyOptOut(change, at));
  const saveIvrFlow = db.transaction((name: string, definition: unknown, at: Date) => {
    const existed = s.getFlow.get(name) !== undefined;
    s.saveFlow.run(name, JSON.stringify(definition), iso(at), iso(at));
    return !existed;
  });
  const deleteIvrFlow = db.transaction((name: string) => {
    s.deleteFlowUses.run(name);
    return s.deleteFlow.run(name).changes > 0;
  });
  const endOrphanRelaySessions = db.transaction((at: Date) => {
    const open = (s.openRelays.all() as RelayRow[]).map(toRelay);
    for (const r of open) s.endRelay.run(iso(at), 'server_restarted', r.sessionId);
    return open;
  });

  // better-sqlite3 is synchronous: each method does its work before it returns, and the
  // promise only carries the answer (or the error) to callers written for any adapter.
  return {
    ingestBatch: async (items) => ingestBatch(items),
    async listInbound(filter: InboundFilter) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.from) (where.push('from_number = ?'), args.push(filter.from));
      if (filter.to) (where.push('to_number = ?'), args.push(filter.to));
      if (filter.since) (where.push('received_at >= ?'), args.push(iso(filter.since)));
      if (filter.unreadOnly) where.push('read_at IS NULL');
      return (filtered('inbound_messages', where, 'received_at DESC, rowid DESC').all(...args, filter.limit) as InboundRow[]).map(toInbound);
    },
    markRead: async (sids, at) => markRead(sids, at),
    async findUnreadFrom(from, after) {
      const row = s.unreadFrom.get(from, iso(after)) as InboundRow | undefined;
      return row ? toInbound(row) : undefined;
    },
    getMessageStatus: async (sid) => statusRecord('message', sid),
    getCallStatus: async (sid) => statusRecord('call', sid),
    applyOptOut: async (change, at) => applyOptOutInTransaction(change, at),
    async isOptedOut(senders, recipient, channels = BLOCKS_MESSAGES) {
      const wanted = JSON.stringify(channels);
      for (const sender of [...senders, '*']) {
        const row = s.findOptOutOn.get(sender, recipient, wanted) as OptOutRow | undefined;
        if (row) return toOptOut(row);
      }
      return undefined;
    },
    async listOptOuts(filter) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.recipient) (where.push('recipient = ?'), args.push(filter.recipient));
      if (filter.sender) (where.push('sender = ?'), args.push(filter.sender));
      return (filtered('opt_outs', where, 'created_at DESC, rowid DESC').all(...args, filter.limit) as OptOutRow[]).map(toOptOut);
    },
    async listOptOutAudit(filter) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.recipient) (where.push('recipient = ?'), args.push(filter.recipient));
      if (filter.sender) (where.push('sender = ?'), args.push(filter.sender));
      const rows = filtered('opt_out_audit', where, 'id DESC').all(...args, filter.limit) as Array<{
        action: OptOutAuditEntry['action']; sender: string; recipient: string; channel: OptOutChannel; source: OptOut['source']; keyword: string | null; reason: string | null; at: string;
      }>;
      return rows.map((r) => ({ action: r.action, sender: r.sender, recipient: r.recipient, channel: r.channel, source: r.source, keyword: r.keyword, reason: r.reason, at: new Date(r.at) }));
    },
    async recordSend(r: SendRecord) {
      s.recordSend.run(r.kind, r.to, r.bodyHash, r.sid, r.estimatedCost, iso(r.at), iso(r.at));
    },
    sendTotals: async (hourStart, dayStart) => sendTotals(hourStart, dayStart),
    findRecentSend: async (to, bodyHash, since) => findRecentSend(to, bodyHash, since),
    hasContacted: async (to) => hasContacted(to),
    async findAnyOptOut(recipients, channels = BLOCKS_MESSAGES) {
      const wanted = JSON.stringify(channels);
      for (const recipient of recipients) {
        const row = s.anyOptOut.get(recipient, wanted) as OptOutRow | undefined;
        if (row) return toOptOut(row);
      }
      return undefined;
    },
    reserveSend: (keys, decide) => reservations.submit({ keys, decide }),
    readLedger: async (keys) => readLedger.deferred(keys),
    settleSend: (id, settlement) => settlements.submit({ id, settlement }),
    recoverInFlight: async (isAlive, at) => recover.immediate(isAlive, at),
    async findReservationBySid(sid) {
      const row = s.reservationBySid.get(sid) as ReservationRow | undefined;
      return row ? toReservation(row) : undefined;
    },
    saveIvrFlow: async (name, definition, at) => saveIvrFlow(name, definition, at),
    async getIvrFlow(name) {
      const row = s.getFlow.get(name) as FlowRow | undefined;
      return row ? toFlow(row) : undefined;
    },
    listIvrFlows: async () => (s.listFlows.all() as FlowRow[]).map(toFlow),
    deleteIvrFlow: async (name) => deleteIvrFlow(name),
    async setInboundCallFlow(number, flowName, at) {
      if (flowName === null) s.clearInboundFlow.run(number);
      else s.setInboundFlow.run(number, flowName, iso(at));
    },
    getInboundCallFlow: async (number) => (s.getInboundFlow.get(number) as string | undefined) ?? undefined,
    async listInboundCallFlows(flowName) {
      const rows = s.listInboundFlows.all(flowName ?? null, flowName ?? null) as Array<{ number: string; flow_name: string; set_at: string }>;
      return rows.map((r) => ({ number: r.number, flowName: r.flow_name, setAt: new Date(r.set_at) }));
    },
    async appendCallEvent(e: CallEvent) {
      s.appendCallEvent.run(e.callSid, e.flowName, e.step, e.kind, e.digits, e.speech, e.confidence, e.detail, iso(e.at));
    },
    async listCallEvents(callSid) {
      const rows = s.callEvents.all(callSid) as Array<{
        call_sid: string; flow_name: string | null; step: string | null; kind: string; digits: string | null; speech: string | null; confidence: number | null; detail: string | null; at: string;
      }>;
      return rows.map((r) => ({
        callSid: r.call_sid, flowName: r.flow_name, step: r.step, kind: r.kind, digits: r.digits, speech: r.speech, confidence: r.confidence, detail: r.detail, at: new Date(r.at),
      }));
    },
    async openRelaySession(r) {
      s.openRelay.run(r.sessionId, r.to, r.purpose, iso(r.startedAt));
    },
    async bindRelaySession(sessionId, callSid) {
      s.bindRelay.run(callSid, sessionId);
    },
    async endRelaySession(sessionId, outcome, at) {
      s.endRelay.run(iso(at), outcome, sessionId);
    },
    async getRelaySession(sessionId) {
      const row = s.getRelay.get(sessionId) as RelayRow | undefined;
      return row ? toRelay(row) : undefined;
    },
    async findRelaySessionByCall(callSid) {
      const row = s.relayByCall.get(callSid) as RelayRow | undefined;
      return row ? toRelay(row) : undefined;
    },
    endOrphanRelaySessions: async (at) => endOrphanRelaySessions(at),
    // On the main connection (synchronous=FULL): a turn is on disk before the next is taken.
    async appendTranscript(sessionId, e) {
      s.appendTranscript.run(sessionId, iso(e.at), e.speaker, e.kind, e.text);
    },
    async listTranscript(sessionId) {
      return (s.transcript.all(sessionId) as Array<{ at: string; speaker: TranscriptEntry['speaker']; kind: string; text: string }>).map((r) => ({
        at: new Date(r.at),
        speaker: r.speaker,
        kind: r.kind,
        text: r.text,
      }));
    },
    async messagesSentBetween(start, end) {
      const rows = s.sentBetween.all(iso(start), iso(end)) as Array<{
        sid: string | null; to_number: string; from_address: string | null; channel: string | null; state: ReservationState; at: string; estimated_cost: number; status: string | null; error_code: number | null; delivered_at: string | null;
      }>;
      return rows.map((r) => ({
        sid: r.sid, to: r.to_number, from: r.from_address, channel: r.channel, state: r.state, at: new Date(r.at), estimatedCost: r.estimated_cost,
        status: r.status, errorCode: r.error_code, deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
      }));
    },
    async optOutChangesBetween(start, end) {
      const rows = s.optOutChangesBetween.all(iso(start), iso(end)) as Array<{ action: OptOutAuditEntry['action']; sender: string; recipient: string; channel: OptOutChannel; source: OptOut['source']; keyword: string | null; reason: string | null; at: string }>;
      return rows.map((r) => ({ action: r.action, sender: r.sender, recipient: r.recipient, channel: r.channel, source: r.source, keyword: r.keyword, reason: r.reason, at: new Date(r.at) }));
    },
    countInboundBetween: async (start, end) => Number(s.inboundBetween.get(iso(start), iso(end))),
    async appendAudit(e: AuditEntry) {
      return Number(s.appendAudit.run(iso(e.at), e.tool, JSON.stringify(e.arguments), e.resultSid, e.error, e.clientName, e.sessionId, e.outcome ?? null).lastInsertRowid);
    },
    async listAudit(filter) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.tool) (where.push('tool = ?'), args.push(filter.tool));
      if (filter.since) (where.push('at >= ?'), args.push(iso(filter.since)));
      return (
        filtered('audit_log', where, 'id DESC').all(...args, filter.limit) as Array<{
          at: string; tool: string; arguments: string; result_sid: string | null; error: string | null; client_name: string | null; session_id: string | null; outcome: ReservationState | null;
        }>
      ).map((r) => ({
        at: new Date(r.at),
        tool: r.tool,
        arguments: JSON.parse(r.arguments) as Record<string, unknown>,
        resultSid: r.result_sid,
        error: r.error,
        clientName: r.client_name,
        sessionId: r.session_id,
        outcome: r.outcome,
      }));
    },
    close: async () => {
      // What is waiting commits first: a caller told "reserved" or "settled" was told the truth.
      reservations.flush();
      settlements.flush();
      if (bookkeeping !== db) bookkeeping.close();
      db.close();
    },
  };
}

/**
 * Brings the schema up to date, one migration per transaction. Each takes the write lock
 * first (BEGIN IMMEDIATE) and re-reads the version under it, so two servers opening the
 * same new directory at once do not both apply migration 1.
 */
function migrate(db: Database.Database, file: string): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() > MIGRATIONS.length) throw new StoreVersionError(file, version(), MIGRATIONS.length);
  const step = db.transaction(() => {
    const v = version();
    if (v >= MIGRATIONS.length) return false;
    const migration = MIGRATIONS[v]!;
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
    db.pragma(`user_version = ${v + 1}`);
    return true;
  });
  while (step.immediate()) {
    // next migration
  }
}

export const STORE_FILE_NAME = 'mcp-server-twilio.sqlite';

/** Opens the store in `dataDir` (created on first use, readable by this user only). */
export function openStoreInDir(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dataDir, 0o700);
  } catch {
    // Not ours to change (e.g. a shared mount): a new database file is still created 0600.
  }
  const file = join(dataDir, STORE_FILE_NAME);
  try {
    // A file an earlier version created with the default mode is tightened too.
    if (existsSync(file)) chmodSync(file, 0o600);
  } catch {
    // Owned by someone else: leave it; opening it still works if it is writable.
  }
  return openSqliteStore(file);
}
