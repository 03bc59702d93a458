/**
 * The "outbox" component's schema on PostgreSQL (migrate.ts applies it; version i + 1 is
 * OUTBOX_MIGRATIONS[i]): SQLite's migration 8 (campaigns and their recipients) designed for
 * PostgreSQL, plus what several instances need: who owns a claimed row (instance and pid),
 * who is importing a campaign, and the shared token buckets of the rate limits.
 *
 * graphile-worker's own tables live in its schema (graphile_worker) and come from its own
 * migrations (pg-outbox.ts runs them).
 */
export const OUTBOX_MIGRATIONS: readonly string[] = [
  // 1: campaigns, recipients, rate buckets.
  `
  CREATE TABLE campaigns (
    -- "C": ids sort byte-wise, as SQLite orders them, whatever the database's locale.
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    template text,
    content_sid text,
    from_address text,
    messaging_service_sid text,
    rate_per_second double precision,
    state text NOT NULL CHECK (state IN ('running', 'paused', 'canceled', 'completed')),
    loaded boolean NOT NULL DEFAULT false,
    -- Who imports the recipients while loaded is false (an import its process did not finish is canceled).
    loader_instance text,
    loader_pid integer,
    resume_at timestamptz,
    error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX campaigns_by_created ON campaigns (created_at DESC, id);
  CREATE INDEX campaigns_loading ON campaigns (loader_instance) WHERE NOT loaded AND state = 'running';

  CREATE TABLE campaign_recipients (
    campaign_id text COLLATE "C" NOT NULL REFERENCES campaigns (id),
    row_number integer NOT NULL,
    to_address text NOT NULL,
    unique_key text,
    variables jsonb NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'held', 'sending', 'sent', 'failed_send', 'skipped_opt_out',
      'skipped_policy', 'invalid', 'duplicate', 'outcome_unknown', 'canceled')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    attempt_started_at timestamptz,
    -- The holder of a sending row, or of an outcome_unknown row being reconciled: an instance and a process in it.
    owner_instance text,
    owner_pid integer,
    message_sid text,
    error_code integer,
    error text,
    idempotency_key text NOT NULL,
    updated_at timestamptz NOT NULL,
    -- When it became sent (insights: first and latest send, throughput).
    sent_at timestamptz,
    PRIMARY KEY (campaign_id, row_number)
  );
  -- NULL keys (invalid and duplicate rows) never conflict.
  CREATE UNIQUE INDEX campaign_recipients_unique ON campaign_recipients (campaign_id, unique_key);
  CREATE INDEX campaign_recipients_by_state ON campaign_recipients (campaign_id, state);
  CREATE INDEX campaign_recipients_due ON campaign_recipients (next_attempt_at, campaign_id, row_number) WHERE state IN ('pending', 'held');
  CREATE INDEX campaign_recipients_held ON campaign_recipients (owner_instance, owner_pid) WHERE state IN ('sending', 'outcome_unknown');
  CREATE INDEX campaign_recipients_unknown ON campaign_recipients (campaign_id, row_number) WHERE state = 'outcome_unknown' AND owner_instance IS NULL;
  CREATE INDEX campaign_recipients_by_sid ON campaign_recipients (message_sid) WHERE message_sid IS NOT NULL;

  -- One GCRA bucket per sender (a number or a Messaging Service) and one for the account.
  CREATE TABLE outbox_rate_buckets (
    key text PRIMARY KEY,
    -- The theoretical arrival time: when the next send would be due if sends went exactly at the rate.
    next_slot timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );

  -- Takes one slot of every bucket in keys at the earliest moment all allow (ms since the
  -- epoch, at or after now_ms) and returns that moment. Buckets are locked in key order, so
  -- two reservations over the same keys queue instead of deadlocking.
  CREATE FUNCTION outbox_take_rate_slot(keys text[], spacing_ms float8[], tolerance_ms float8[], now_ms float8) RETURNS float8
  LANGUAGE plpgsql AS $fn$
  DECLARE
    at_ms float8 := now_ms;
    bucket record;
  BEGIN
    INSERT INTO outbox_rate_buckets (key, next_slot, updated_at)
      SELECT k, to_timestamp(now_ms / 1000), now() FROM unnest(keys) AS k
      ON CONFLICT (key) DO NOTHING;
    FOR bucket IN
      SELECT b.key, extract(epoch FROM b.next_slot) * 1000 AS tat, t.tolerance
      FROM outbox_rate_buckets b JOIN unnest(keys, tolerance_ms) AS t (key, tolerance) ON t.key = b.key
      ORDER BY b.key FOR UPDATE OF b
    LOOP
      at_ms := greatest(at_ms, bucket.tat - bucket.tolerance);
    END LOOP;
    UPDATE outbox_rate_buckets b
      SET next_slot = to_timestamp((greatest(extract(epoch FROM b.next_slot) * 1000, at_ms) + s.spacing) / 1000), updated_at = now()
      FROM unnest(keys, spacing_ms) AS s (key, spacing)
      WHERE b.key = s.key;
    RETURN at_ms;
  END
  $fn$;
  `,
];
