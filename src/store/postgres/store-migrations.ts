/**
 * The "store" component's schema on PostgreSQL (migrate.ts applies it; version i + 1 is
 * STORE_MIGRATIONS[i]). Version 1 is what SQLite reached in its migrations 1–7
 * (src/store/migrations.ts) in one step: a PostgreSQL database has no older shapes to carry
 * over. The campaign outbox (SQLite's migration 8) is its own component ("outbox").
 *
 * Designed for PostgreSQL rather than copied: timestamptz for every moment, bigserial
 * ids, jsonb for what is JSON, booleans, double precision for USD estimates (the same
 * floating sums SQLite's REAL gives). The unique constraints that make webhooks and opt-outs
 * idempotent are the same as SQLite's. Tables without an integer key in SQLite still get a
 * bigserial `id`: SQLite orders ties by rowid, PostgreSQL has none. Keys that are listed
 * in order (flow names, numbers) use the "C" collation, so they sort byte-wise as in SQLite
 * whatever the database's locale.
 */
export const STORE_MIGRATIONS: readonly string[] = [
  // 1: everything the SQLite store has (its migrations 1–7).
  `
  CREATE TABLE webhook_events (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    sid text NOT NULL,
    status text,
    idempotency_token text UNIQUE,
    received_at timestamptz NOT NULL,
    params jsonb NOT NULL
  );
  -- The same SID and status is the same fact, whatever token it came with (NULL statuses never conflict, as in SQLite).
  CREATE UNIQUE INDEX webhook_events_fact ON webhook_events (kind, sid, status);

  CREATE TABLE inbound_messages (
    id bigserial UNIQUE,
    message_sid text PRIMARY KEY,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    media jsonb NOT NULL,
    messaging_service_sid text,
    channel text NOT NULL,
    profile_name text,
    keyword text,
    received_at timestamptz NOT NULL,
    read_at timestamptz
  );
  CREATE INDEX inbound_by_from ON inbound_messages (from_number, received_at);
  CREATE INDEX inbound_by_time ON inbound_messages (received_at);

  CREATE TABLE status_current (
    kind text NOT NULL,
    sid text NOT NULL,
    status text NOT NULL,
    error_code integer,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (kind, sid)
  );
  CREATE TABLE status_history (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    sid text NOT NULL,
    status text NOT NULL,
    error_code integer,
    at timestamptz NOT NULL,
    applied boolean NOT NULL
  );
  CREATE INDEX status_history_by_sid ON status_history (kind, sid, id);

  CREATE TABLE recordings (
    recording_sid text PRIMARY KEY,
    call_sid text,
    status text NOT NULL,
    url text,
    duration_seconds integer,
    updated_at timestamptz NOT NULL
  );

  CREATE TABLE opt_outs (
    id bigserial UNIQUE,
    sender text NOT NULL,
    recipient text NOT NULL,
    channel text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'voice', 'all')),
    source text NOT NULL,
    keyword text,
    reason text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (sender, recipient)
  );
  -- Account-wide checks look a person up under every sender.
  CREATE INDEX opt_outs_by_recipient ON opt_outs (recipient, created_at, id);
  CREATE TABLE opt_out_audit (
    id bigserial PRIMARY KEY,
    action text NOT NULL CHECK (action IN ('add', 'remove')),
    sender text NOT NULL,
    recipient text NOT NULL,
    channel text NOT NULL DEFAULT 'sms',
    source text NOT NULL,
    keyword text,
    reason text,
    at timestamptz NOT NULL
  );
  CREATE INDEX opt_out_audit_by_at ON opt_out_audit (at);
  CREATE INDEX opt_out_audit_by_recipient ON opt_out_audit (recipient, id);

  CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    tool text NOT NULL,
    arguments jsonb NOT NULL,
    result_sid text,
    error text,
    client_name text,
    session_id text,
    outcome text
  );
  CREATE INDEX audit_by_time ON audit_log (at);
  CREATE INDEX audit_by_tool ON audit_log (tool, id);

  -- Reservations (store.ts ReservationState). owner_host + owner_pid say which process holds an
  -- in_flight row (recoverInFlight judges only its own host's); owner_instance names the instance
  -- for the heartbeat that recovers the rows of instances on other hosts.
  CREATE TABLE send_reservations (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('message', 'call')),
    channel text,
    to_number text NOT NULL,
    from_address text,
    body_hash text,
    sid text,
    state text NOT NULL CHECK (state IN ('in_flight', 'sent', 'outcome_unknown', 'released')),
    estimated_cost double precision NOT NULL,
    at timestamptz NOT NULL,
    send_at timestamptz,
    owner_pid integer,
    owner_host text,
    owner_instance text,
    settled_at timestamptz,
    error text,
    audit_id bigint
  );
  CREATE INDEX reservations_by_at ON send_reservations (at);
  CREATE INDEX reservations_by_to ON send_reservations (to_number, body_hash, at);
  CREATE INDEX reservations_by_sid ON send_reservations (sid);
  CREATE INDEX reservations_in_flight ON send_reservations (state) WHERE state = 'in_flight';

  -- The one row every reservation locks (SELECT … FOR UPDATE) before it reads the ledger: see
  -- pg-store.ts reserveSend. The CHECK keeps it one row.
  CREATE TABLE reservation_lock (
    id boolean PRIMARY KEY DEFAULT true CHECK (id)
  );
  INSERT INTO reservation_lock (id) VALUES (true);

  CREATE TABLE ivr_flows (
    name text COLLATE "C" PRIMARY KEY,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE inbound_call_flows (
    number text COLLATE "C" PRIMARY KEY,
    flow_name text NOT NULL,
    set_at timestamptz NOT NULL
  );
  CREATE INDEX inbound_call_flows_by_flow ON inbound_call_flows (flow_name);
  CREATE TABLE call_events (
    id bigserial PRIMARY KEY,
    call_sid text NOT NULL,
    flow_name text,
    step text,
    kind text NOT NULL,
    digits text,
    speech text,
    confidence double precision,
    detail text,
    at timestamptz NOT NULL
  );
  CREATE INDEX call_events_by_call ON call_events (call_sid, id);

  -- Live phone conversations. The owner columns play the same part as on send_reservations:
  -- a restart ends its own host's orphans, never a session another instance is serving.
  CREATE TABLE relay_sessions (
    session_id text PRIMARY KEY,
    call_sid text,
    to_number text NOT NULL,
    purpose text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    outcome text,
    owner_pid integer,
    owner_host text,
    owner_instance text
  );
  CREATE INDEX relay_sessions_by_call ON relay_sessions (call_sid, started_at);
  CREATE INDEX relay_sessions_open ON relay_sessions (started_at) WHERE ended_at IS NULL;
  CREATE TABLE relay_transcript (
    id bigserial PRIMARY KEY,
    session_id text NOT NULL,
    at timestamptz NOT NULL,
    speaker text NOT NULL,
    kind text NOT NULL,
    text text NOT NULL
  );
  CREATE INDEX relay_transcript_by_session ON relay_transcript (session_id, id);
  `,
];
