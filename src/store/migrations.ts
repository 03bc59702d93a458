/**
 * Versioned schema migrations, applied in order at open inside one transaction each;
 * `PRAGMA user_version` records how far a database has come. Never edit a shipped
 * migration: add the next one. A migration is SQL, or a function for rewrites SQL cannot
 * express (it runs inside the same transaction).
 */
import type Database from 'better-sqlite3';
import { canonicalPhoneAddress } from '../domain/phone-address.js';

export type Migration = string | ((db: Database.Database) => void);

/** A stored address key in canonical form; '*' and SIDs are kept (SIDs with lowercase hex, as Twilio writes them). */
function canonicalKey(value: string): string {
  if (value === '*') return value;
  if (/^[A-Z]{2}[0-9a-fA-F]{32}$/.test(value)) return `${value.slice(0, 2)}${value.slice(2).toLowerCase()}`;
  return canonicalPhoneAddress(value) ?? value;
}

/**
 * 4: every stored phone key in canonical form (E.164 or whatsapp:+E164). Before version 4 a
 * tool could store "(415) 555-0199" as an opt-out that no send ever matched: rewritten here,
 * so such an opt-out blocks from now on. Two spellings of one opt-out merge into the first.
 */
function canonicalPhoneKeys(db: Database.Database): void {
  const optOuts = db.prepare('SELECT rowid AS rid, sender, recipient FROM opt_outs').all() as Array<{ rid: number; sender: string; recipient: string }>;
  const move = db.prepare('UPDATE OR IGNORE opt_outs SET sender = ?, recipient = ? WHERE rowid = ?');
  const drop = db.prepare('DELETE FROM opt_outs WHERE rowid = ?');
  for (const row of optOuts) {
    const sender = canonicalKey(row.sender);
    const recipient = canonicalKey(row.recipient);
    if (sender === row.sender && recipient === row.recipient) continue;
    // An existing canonical row wins (UPDATE OR IGNORE leaves this one): the duplicate goes.
    if (move.run(sender, recipient, row.rid).changes === 0) drop.run(row.rid);
  }
  const rewrite = (table: string, columns: string[]) => {
    // `rowid AS rid`: a table with an INTEGER PRIMARY KEY would name the rowid column after it.
    const rows = db.prepare(`SELECT rowid AS rid, ${columns.join(', ')} FROM ${table}`).all() as Array<Record<string, string | number | null>>;
    const update = db.prepare(`UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE rowid = ?`);
    for (const row of rows) {
      const next = columns.map((c) => (typeof row[c] === 'string' ? canonicalKey(row[c] as string) : row[c]));
      if (next.some((v, i) => v !== row[columns[i]!])) update.run(...next, row.rid);
    }
  };
  rewrite('opt_out_audit', ['sender', 'recipient']);
  rewrite('inbound_messages', ['from_number', 'to_number']);
  rewrite('send_reservations', ['to_number']);
}

export const MIGRATIONS: readonly Migration[] = [
  // 1: webhook events, inbox, message/call status with history, recordings, opt-outs.
  `
  CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sid TEXT NOT NULL,
    status TEXT,
    idempotency_token TEXT UNIQUE,
    received_at TEXT NOT NULL,
    params TEXT NOT NULL
  );
  -- The same SID and status is the same fact, whatever token it came with.
  CREATE UNIQUE INDEX webhook_events_fact ON webhook_events(kind, sid, status);

  CREATE TABLE inbound_messages (
    message_sid TEXT PRIMARY KEY,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    media TEXT NOT NULL,
    messaging_service_sid TEXT,
    channel TEXT NOT NULL,
    profile_name TEXT,
    keyword TEXT,
    received_at TEXT NOT NULL,
    read_at TEXT
  );
  CREATE INDEX inbound_by_from ON inbound_messages(from_number, received_at);
  CREATE INDEX inbound_by_time ON inbound_messages(received_at);

  CREATE TABLE status_current (
    kind TEXT NOT NULL,
    sid TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, sid)
  );
  CREATE TABLE status_history (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sid TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code INTEGER,
    at TEXT NOT NULL,
    applied INTEGER NOT NULL
  );
  CREATE INDEX status_history_by_sid ON status_history(kind, sid, id);

  CREATE TABLE recordings (
    recording_sid TEXT PRIMARY KEY,
    call_sid TEXT,
    status TEXT NOT NULL,
    url TEXT,
    duration_seconds INTEGER,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE opt_outs (
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    source TEXT NOT NULL,
    keyword TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sender, recipient)
  );
  CREATE TABLE opt_out_audit (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    source TEXT NOT NULL,
    keyword TEXT,
    reason TEXT,
    at TEXT NOT NULL
  );
  `,
  // 2: what guardrails need to survive restarts: sends for caps and duplicates, the audit log.
  `
  CREATE TABLE send_ledger (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body_hash TEXT,
    sid TEXT NOT NULL,
    estimated_cost REAL NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX send_ledger_by_time ON send_ledger(kind, at);
  CREATE INDEX send_ledger_by_at ON send_ledger(at);
  CREATE INDEX send_ledger_by_to ON send_ledger(to_number, body_hash, at);

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    result_sid TEXT,
    error TEXT,
    client_name TEXT,
    session_id TEXT
  );
  CREATE INDEX audit_by_time ON audit_log(at);
  `,
  // 3: the send pipeline reserves before Twilio is called. The ledger becomes a table of
  // reservations with a state (see store.ts ReservationState); settled sends of version 2
  // carry over as `sent`. The audit log records each send's outcome.
  `
  CREATE TABLE send_reservations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    channel TEXT,
    to_number TEXT NOT NULL,
    body_hash TEXT,
    sid TEXT,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'outcome_unknown', 'released')),
    estimated_cost REAL NOT NULL,
    at TEXT NOT NULL,
    send_at TEXT,
    owner_pid INTEGER,
    settled_at TEXT,
    error TEXT,
    audit_id INTEGER
  );
  INSERT INTO send_reservations (kind, to_number, body_hash, sid, state, estimated_cost, at, settled_at)
    SELECT kind, to_number, body_hash, sid, 'sent', estimated_cost, at, at FROM send_ledger ORDER BY id;
  DROP TABLE send_ledger;
  CREATE INDEX reservations_by_at ON send_reservations(at);
  CREATE INDEX reservations_by_to ON send_reservations(to_number, body_hash, at);
  CREATE INDEX reservations_by_sid ON send_reservations(sid);
  CREATE INDEX reservations_in_flight ON send_reservations(state) WHERE state = 'in_flight';
  ALTER TABLE audit_log ADD COLUMN outcome TEXT;
  `,
  canonicalPhoneKeys,
  // 5: voice. Opt-outs get a channel (an SMS STOP is not a do-not-call request); hosted IVR
  // flows, the number each answers, and the path every caller took through a flow.
  `
  ALTER TABLE opt_outs ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'voice', 'all'));
  ALTER TABLE opt_out_audit ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';
  CREATE TABLE ivr_flows (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE inbound_call_flows (
    number TEXT PRIMARY KEY,
    flow_name TEXT NOT NULL,
    set_at TEXT NOT NULL
  );
  CREATE TABLE call_events (
    id INTEGER PRIMARY KEY,
    call_sid TEXT NOT NULL,
    flow_name TEXT,
    step TEXT,
    kind TEXT NOT NULL,
    digits TEXT,
    speech TEXT,
    confidence REAL,
    detail TEXT,
    at TEXT NOT NULL
  );
  CREATE INDEX call_events_by_call ON call_events(call_sid, id);
  `,
  // 6: live phone conversations (ConversationRelay): each session and its transcript, on
  // disk turn by turn so a crash loses nothing that was said.
  `
  CREATE TABLE relay_sessions (
    session_id TEXT PRIMARY KEY,
    call_sid TEXT,
    to_number TEXT NOT NULL,
    purpose TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT
  );
  CREATE INDEX relay_sessions_by_call ON relay_sessions(call_sid);
  CREATE TABLE relay_transcript (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    at TEXT NOT NULL,
    speaker TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
  );
  CREATE INDEX relay_transcript_by_session ON relay_transcript(session_id, id);
  `,
  // 7: insights by sender need the sender of each send (a number or a Messaging Service).
  `
  ALTER TABLE send_reservations ADD COLUMN from_address TEXT;
  `,
  // 8: campaigns (the Outbox port, store/outbox.ts): each campaign and one row per
  // recipient with its state, so a campaign survives restarts and sends each person once.
  `
  CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    template TEXT,
    content_sid TEXT,
    from_address TEXT,
    messaging_service_sid TEXT,
    rate_per_second REAL,
    state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'canceled', 'completed')),
    loaded INTEGER NOT NULL DEFAULT 0,
    -- The process importing the recipients while loaded = 0 (an import it did not finish is canceled).
    loader_pid INTEGER,
    resume_at TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id),
    row_number INTEGER NOT NULL,
    to_address TEXT NOT NULL,
    unique_key TEXT,
    variables TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'held', 'sending', 'sent', 'failed_send', 'skipped_opt_out',
      'skipped_policy', 'invalid', 'duplicate', 'outcome_unknown', 'canceled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    attempt_started_at TEXT,
    owner_pid INTEGER,
    message_sid TEXT,
    error_code INTEGER,
    error TEXT,
    idempotency_key TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, row_number)
  );
  -- NULL keys (invalid and duplicate rows) never conflict.
  CREATE UNIQUE INDEX campaign_recipients_unique ON campaign_recipients(campaign_id, unique_key);
  CREATE INDEX campaign_recipients_by_state ON campaign_recipients(campaign_id, state);
  -- The claim scans due rows in order and stops at its LIMIT (no sort of every pending row).
  CREATE INDEX campaign_recipients_due ON campaign_recipients(next_attempt_at, campaign_id, row_number) WHERE state IN ('pending', 'held');
  CREATE INDEX campaign_recipients_held ON campaign_recipients(state, owner_pid) WHERE state IN ('sending', 'outcome_unknown');
  CREATE INDEX campaign_recipients_by_sid ON campaign_recipients(message_sid) WHERE message_sid IS NOT NULL;
  `,
  // 9: (a) the claim looks for due rows campaign by campaign (only of campaigns that may
  // send), in an index led by the campaign: the time-ordered index of migration 8 made every
  // claim walk past the due rows of a campaign still loading, paused or waiting for a cap to
  // reset, which is every row of a large list while it is imported.
  // (b) A version of the send ledger's totals. Every change that can move a cap's count or
  // the spend (a reservation added or deleted, a row entering or leaving 'released', its
  // kind, time or cost changed) bumps it, whoever makes it (any connection, any process), in
  // the same transaction. The store keeps the totals it last computed with the version they
  // belong to, and scans the day's reservations again only when someone else changed them:
  // a campaign's reservations no longer rescan a growing day on every commit.
  `
  CREATE INDEX campaign_recipients_due_by_campaign ON campaign_recipients(campaign_id, next_attempt_at, row_number) WHERE state IN ('pending', 'held');
  DROP INDEX campaign_recipients_due;
  CREATE TABLE ledger_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
  INSERT INTO ledger_version (id, version) VALUES (1, 0);
  CREATE TRIGGER ledger_version_on_insert AFTER INSERT ON send_reservations
    BEGIN UPDATE ledger_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER ledger_version_on_delete AFTER DELETE ON send_reservations
    BEGIN UPDATE ledger_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER ledger_version_on_update AFTER UPDATE OF state, kind, at, estimated_cost ON send_reservations
    WHEN (old.state = 'released') <> (new.state = 'released') OR old.kind IS NOT new.kind OR old.at IS NOT new.at OR old.estimated_cost IS NOT new.estimated_cost
    BEGIN UPDATE ledger_version SET version = version + 1 WHERE id = 1; END;
  `,
];
