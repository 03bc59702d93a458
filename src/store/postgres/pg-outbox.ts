/**
 * The Outbox port on PostgreSQL, for several server instances on one database. Rows live in
 * campaigns / campaign_recipients (outbox-migrations.ts); scheduling is graphile-worker's:
 * ONE job per recipient, keyed by the row's idempotency key, so a row never has two turns
 * coming. The job is added in the same transaction as the row (parked, run_at = infinity,
 * while the campaign imports or is paused), and every transaction that changes what comes
 * next for a row changes its job in the same commit: a retry or a hold moves run_at, an
 * unknown outcome replaces the send job with a reconcile job, a final state lets the job end.
 * graphile-worker's SKIP LOCKED fetching spreads the jobs over every instance, LISTEN/NOTIFY
 * wakes them at once, and a due job runs on whichever instance is free.
 *
 * A job's task does no campaign logic: it claims its row exactly as claimBatch / claimUnknown
 * would and hands it to the engine (PushOutbox); the engine settles it. claimBatch,
 * claimUnknown and releaseStale work too (the same contract as SQLite's adapter).
 *
 * Crashes. Each instance registers and heartbeats (instances.ts). When one's heartbeat is
 * older than the TTL, another instance takes over, in one transaction: its `sending` rows
 * become outcome_unknown with a reconcile job (they may have gone out: reconciled, never
 * straight back to pending), rows it was reconciling are let go with a reconcile job, an
 * import it did not finish is canceled, and its graphile-worker locks (held under its
 * worker pool's id) are freed so its other jobs run again. A taken-over instance that comes
 * back finds itself fenced (its heartbeat and claims require state 'live'), drops the rows
 * it holds and starts a new life. The limit: a send already on its way to Twilio when its
 * instance was declared dead can still arrive after the survivor reconciled and re-sent; a
 * TTL well above the heartbeat interval and the reconcile delay makes that unlikely.
 *
 * Moments are the engine's clock (passed in), as with SQLite; graphile-worker is told to use
 * Node's clock (useNodeTime) so a job is due by the same clock that computed its run_at.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger, runTaskList, type JobHelpers, type WorkerPool } from 'graphile-worker';
import type pg from 'pg';
import { log } from '../../util/log.js';
import {
  emptyCounts,
  type Campaign,
  type CampaignInsights,
  type CampaignState,
  type DueRow,
  type NewRecipient,
  type PushOptions,
  type PushOutbox,
  type RecipientRow,
  type RecipientState,
  type RowRef,
  type Settlement,
  type StateCounts,
} from '../outbox.js';
import { addWorkerPool, deadInstances, heartbeat, lockForTakeover, markStopped, markTakenOver, migrateInstances, registerInstance } from './instances.js';
import { migrate } from './migrate.js';
import {
  addJobsFor,
  graphileLogFactory,
  JOB_KEY_PREFIX,
  jobSpec,
  migrateJobQueue,
  parsePayload,
  RECONCILE_PRIORITY,
  RECONCILE_SPEC,
  RECONCILE_TASK,
  SEND_SPEC_DUE,
  SEND_SPEC_PARKED,
  SEND_TASK,
} from './outbox-jobs.js';
import { OUTBOX_MIGRATIONS } from './outbox-migrations.js';
import { byRow, ImportStopped, INSERT_ROWS, refKey, rowParams, toRecipient, type CampaignDbRow, type RecipientDbRow } from './outbox-rows.js';
import { PostgresRateLimits } from './pg-rate-limits.js';
import { guardPool } from './pool.js';

export interface PostgresOutboxOptions {
  /** Unique among the live processes on this database (a host name, a pod name). A new process under the id of a dead one takes over what the old one held. */
  instanceId: string;
  /** What the server's status shows about this instance (host, pid and version are added). */
  info?: Record<string, unknown>;
  /** Rows per insert transaction at import. Default 500. */
  batchSize?: number;
  /** An instance whose heartbeat is older than this is dead and taken over. Default 15 s. */
  instanceTtlMs?: number;
  /** How often this instance heartbeats and looks for dead ones. Default a third of the TTL. */
  heartbeatMs?: number;
  /** How often an idle job worker looks for jobs that became due (new jobs wake it at once). Default 1 s. */
  pollIntervalMs?: number;
}

export interface PostgresOutbox extends PushOutbox {
  readonly instanceId: string;
  /** The shared token buckets (give them to the engine: CampaignEngineOptions.rateLimits). */
  readonly rateLimits: PostgresRateLimits;
  /** Takes over every instance whose heartbeat is older than the TTL, now (the heartbeat does it too). Returns their ids. */
  takeOverDead(now?: Date): Promise<string[]>;
  /**
   * Stops at once as a crash would: no more heartbeats, claims or settlements, nothing
   * released or recorded. Another instance takes over what it held after the TTL. For a
   * process that must exit now, and for tests that play a crash.
   */
  abandon(): void;
}

/** How long a task that lost a race for its row waits before looking again. */
const RETRY_MISSED_CLAIM_MS = 1000;

/** Whether instance `$N` is live (not taken over). */
const IS_LIVE = (param: string) => `EXISTS (SELECT 1 FROM server_instances i WHERE i.id = ${param} AND i.state = 'live')`;
/**
 * The instance `$N` may claim: it is live, and stays so until the claim commits. The key-share
 * lock makes a claim and a takeover of its instance (FOR UPDATE) take turns: a claim that
 * commits first is seen, and moved, by the takeover; one that waits finds the instance taken
 * over and claims nothing. Heartbeats (plain updates) do not wait for it.
 */
const LIVE = (param: string) => `EXISTS (SELECT 1 FROM server_instances i WHERE i.id = ${param} AND i.state = 'live' FOR KEY SHARE)`;

class PgOutbox implements PostgresOutbox {
  readonly rateLimits: PostgresRateLimits;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatFailing = false;
  private closed = false;
  private abandoned = false;
  private recovering: Promise<void> | undefined;
  /** The push in force: its handler and options, the worker pool, and an abort for the rows handed out in this life. */
  private push: { handler: (due: DueRow) => Promise<void>; options: PushOptions } | undefined;
  private workerPool: WorkerPool | undefined;
  private lifeAbort = new AbortController();
  /** Rows handed to the engine and not returned yet (refKey). */
  private readonly inFlight = new Set<string>();
  /** Rows settled while in flight (refKey): the others are made safe when their handler returns. */
  private readonly settledInFlight = new Set<string>();
  private tablesChecked: { at: number; present: Set<string> } | undefined;

  constructor(
    private readonly pool: pg.Pool,
    readonly instanceId: string,
    private readonly options: PostgresOutboxOptions,
  ) {
    this.ttlMs = options.instanceTtlMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.ttlMs / 3));
    this.batchSize = options.batchSize ?? 500;
    this.rateLimits = new PostgresRateLimits(pool);
    this.logger = new Logger(graphileLogFactory(instanceId));
  }

  // ---- life: registration, heartbeat, takeover --------------------------------------------

  /** Takes over whatever a previous life of this id left, then registers this one and heartbeats. */
  async startLife(): Promise<void> {
    await this.takeOver(this.instanceId, { anyLife: true, now: new Date() });
    await registerInstance(this.pool, this.instanceId, { host: hostname(), pid: process.pid, ...this.options.info });
    this.lifeAbort = new AbortController();
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => void this.tick(), this.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  private async tick(): Promise<void> {
    if (this.closed || this.recovering) return;
    try {
      const alive = await heartbeat(this.pool, this.instanceId);
      if (this.heartbeatFailing) log.info(`campaign outbox: instance ${this.instanceId} reaches PostgreSQL again`);
      this.heartbeatFailing = false;
      if (!alive) {
        this.recovering = this.newLife()
          // Not reachable now (PostgreSQL went away again): the next beat tries again.
          .catch((error: unknown) => log.warn(`campaign outbox: instance ${this.instanceId} could not start a new life yet (${message(error)})`))
          .finally(() => (this.recovering = undefined));
        return;
      }
      // A new life whose job workers could not start (PostgreSQL went away again) starts them now.
      if (this.push && !this.workerPool) await this.startWorkerPool(this.push.handler, this.push.options);
      await this.takeOverDead();
    } catch (error) {
      // Once per outage, not every tick.
      if (!this.heartbeatFailing) log.warn(`campaign outbox: instance ${this.instanceId} could not heartbeat (${message(error)}); after ${this.ttlMs} ms without one, another instance takes over its rows`);
      this.heartbeatFailing = true;
    }
  }

  /**
   * This instance was declared dead while it was not (a pause longer than the TTL, a network
   * cut) and what it held was taken over: the rows it still handles are not its own any more.
   * It withdraws them (the engine sends none of them), stops its worker pool, and starts over.
   */
  private async newLife(): Promise<void> {
    log.warn(
      `campaign outbox: instance ${this.instanceId} was declared dead (no heartbeat for ${this.ttlMs} ms) and another instance took over its rows; it drops what it was doing and starts again`,
    );
    this.lifeAbort.abort();
    const push = this.push;
    await this.stopWorkerPool();
    if (this.closed) return;
    await this.startLife();
    if (push && !this.closed) await this.startWorkerPool(push.handler, push.options);
  }

  async takeOverDead(now = new Date()): Promise<string[]> {
    const taken: string[] = [];
    for (const dead of await deadInstances(this.pool, this.ttlMs)) {
      if (dead.id === this.instanceId) continue;
      if (await this.takeOver(dead.id, { anyLife: false, now })) taken.push(dead.id);
    }
    return taken;
  }

  /**
   * What instance `id` held, taken in one transaction (see the module comment). `anyLife`:
   * this process's own previous life (or itself at close), whatever its heartbeat says.
   */
  private async takeOver(id: string, { anyLife, now }: { anyLife: boolean; now: Date }): Promise<boolean> {
    return this.transaction(async (client) => {
      const dead = await lockForTakeover(client, id, this.ttlMs, anyLife);
      if (!dead) return false;
      const pools = dead.workerPools;
      // The jobs it had locked, before any is re-keyed below.
      const locked = pools.length
        ? (await client.query<{ id: string }>('SELECT id FROM graphile_worker.jobs WHERE locked_by = ANY($1::text[])', [pools])).rows.map((r) => r.id)
        : [];
      const { rows } = await client.query<{ unknown: number }>(
        `WITH lost AS (
           UPDATE campaign_recipients SET state = 'outcome_unknown', owner_instance = NULL, owner_pid = NULL, next_attempt_at = $2,
             error = 'the instance sending it stopped before Twilio answered', updated_at = $2
           WHERE owner_instance = $1 AND state = 'sending'
           RETURNING campaign_id, row_number, idempotency_key, next_attempt_at),
         let_go AS (
           UPDATE campaign_recipients SET owner_instance = NULL, owner_pid = NULL, updated_at = $2
           WHERE owner_instance = $1 AND state = 'outcome_unknown'
           RETURNING campaign_id, row_number, idempotency_key, next_attempt_at),
         jobs AS (${addJobsFor('(SELECT * FROM lost UNION ALL SELECT * FROM let_go) AS held', RECONCILE_SPEC('coalesce(next_attempt_at, $2)'))})
         SELECT (SELECT count(*) FROM lost)::int AS unknown, (SELECT jobs FROM jobs) AS jobs`,
        [id, now],
      );
      await this.cancelImports(client, 'loader_instance = $1', [id], now);
      if (pools.length) {
        await client.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [pools]);
        // Jobs whose key add_jobs moved to a new job above are dead weight now: gone.
        await client.query('SELECT count(*) FROM graphile_worker.complete_jobs(ARRAY(SELECT id FROM graphile_worker.jobs WHERE id = ANY($1::bigint[]) AND key IS NULL))', [locked]);
      }
      if (id !== this.instanceId) {
        await markTakenOver(client, id, this.instanceId);
        log.warn(`campaign outbox: instance ${id} stopped heartbeating; ${this.instanceId} took over its rows (${rows[0]?.unknown ?? 0} to reconcile) and ${locked.length} job locks`);
      }
      return true;
    });
  }

  /** Cancels the running campaigns still importing under `where` (over campaigns): their import will not finish. */
  private async cancelImports(client: pg.PoolClient, where: string, params: unknown[], now: Date): Promise<string[]> {
    const at = `$${params.length + 1}`;
    const { rows } = await client.query<{ id: string }>(
      `UPDATE campaigns SET state = 'canceled', error = 'recipient import interrupted (the importing process stopped); create the campaign again', updated_at = ${at}
       WHERE NOT loaded AND state = 'running' AND ${where} RETURNING id`,
      [...params, now],
    );
    for (const { id } of rows) await this.cancelRows(client, id, now);
    return rows.map((r) => r.id);
  }

  /** Pending and held rows of a canceled campaign: canceled, their jobs removed. */
  private async cancelRows(client: pg.PoolClient, campaignId: string, now: Date): Promise<void> {
    await client.query(
      `WITH c AS (UPDATE campaign_recipients SET state = 'canceled', error = 'campaign canceled', next_attempt_at = NULL, updated_at = $2
                  WHERE campaign_id = $1 AND state IN ('pending', 'held') RETURNING idempotency_key)
       SELECT count(graphile_worker.remove_job('${JOB_KEY_PREFIX}' || idempotency_key)) FROM c`,
      [campaignId, now],
    );
  }

  // ---- campaigns ----------------------------------------------------------------------------

  async createCampaign(campaign: Parameters<PushOutbox['createCampaign']>[0], recipients: Parameters<PushOutbox['createCampaign']>[1], createOptions: Parameters<PushOutbox['createCampaign']>[2] = {}): Promise<Campaign> {
    this.assertUsable();
    const batchSize = createOptions.batchSize ?? this.batchSize;
    await this.pool.query(
      `INSERT INTO campaigns (id, name, channel, template, content_sid, from_address, messaging_service_sid, rate_per_second, state, loaded, loader_instance, loader_pid, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', false, $9, $10, $11, $11)`,
      [
        campaign.id,
        campaign.name,
        campaign.channel,
        campaign.template,
        campaign.contentSid,
        campaign.from,
        campaign.messagingServiceSid,
        campaign.ratePerSecond,
        this.instanceId,
        createOptions.loaderPid ?? process.pid,
        campaign.createdAt,
      ],
    );
    try {
      let batch: NewRecipient[] = [];
      for await (const r of recipients) {
        batch.push(r);
        if (batch.length >= batchSize) {
          await this.insertBatch(campaign.id, batch, campaign.createdAt);
          batch = [];
        }
      }
      if (batch.length > 0) await this.insertBatch(campaign.id, batch, campaign.createdAt);
      await this.transaction(async (client) => {
        const { rowCount } = await client.query(
          "UPDATE campaigns SET loaded = true, loader_instance = NULL, loader_pid = NULL, updated_at = $3 WHERE id = $1 AND NOT loaded AND loader_instance = $2 AND state IN ('running', 'paused')",
          [campaign.id, this.instanceId, new Date()],
        );
        if (!rowCount) throw new ImportStopped(campaign.id);
        await this.enqueueCampaign(client, campaign.id);
      });
    } catch (error) {
      // Abandoned: a dead process writes nothing. Canceled under it (its instance was taken
      // for dead): the canceler recorded why, and the campaign is returned as it stands, canceled.
      if (this.abandoned) throw error;
      if (error instanceof ImportStopped) return (await this.getCampaign(campaign.id))!;
      const reason = error instanceof Error ? error.message : String(error);
      await this.transaction(async (client) => {
        const now = new Date();
        await client.query("UPDATE campaigns SET state = 'canceled', error = $2, updated_at = $3 WHERE id = $1", [campaign.id, `recipients could not be imported: ${reason}`, now]);
        await this.cancelRows(client, campaign.id, now);
      });
      throw error;
    }
    return (await this.getCampaign(campaign.id))!;
  }

  /**
   * One batch of rows with their (parked) jobs, in one transaction. A row whose unique key an
   * earlier row holds is stored `duplicate` naming that row, as SQLite's UNIQUE constraint
   * decides it: the earliest row of a key wins, within the batch or before it.
   */
  private async insertBatch(campaignId: string, rows: NewRecipient[], createdAt: Date): Promise<void> {
    const firstInBatch = new Map<string, number>();
    const candidates: NewRecipient[] = [];
    const repeats: NewRecipient[] = [];
    for (const r of rows) {
      if (r.uniqueKey === null) candidates.push(r);
      else if (firstInBatch.has(r.uniqueKey)) repeats.push(r);
      else {
        firstInBatch.set(r.uniqueKey, r.row);
        candidates.push(r);
      }
    }
    this.assertUsable();
    await this.transaction(async (client) => {
      // Still this import's to continue? Another instance cancels it when it takes this one for dead.
      const { rows: still } = await client.query(
        "SELECT 1 FROM campaigns WHERE id = $1 AND state IN ('running', 'paused') AND NOT loaded AND loader_instance = $2 FOR UPDATE",
        [campaignId, this.instanceId],
      );
      if (still.length === 0) throw new ImportStopped(campaignId);
      const now = new Date();
      const inserted = new Set(
        (
          await client.query<{ row_number: number }>(
            `${INSERT_ROWS} ON CONFLICT (campaign_id, unique_key) DO NOTHING RETURNING row_number`,
            rowParams(campaignId, candidates, createdAt, now),
          )
        ).rows.map((r) => r.row_number),
      );
      const taken = candidates.filter((r) => !inserted.has(r.row));
      const earlier = new Map<string, number>();
      if (taken.length > 0) {
        const { rows: found } = await client.query<{ unique_key: string; row_number: number }>(
          'SELECT unique_key, row_number FROM campaign_recipients WHERE campaign_id = $1 AND unique_key = ANY($2::text[])',
          [campaignId, taken.map((r) => r.uniqueKey)],
        );
        for (const f of found) earlier.set(f.unique_key, f.row_number);
      }
      const duplicates = [...taken, ...repeats].map((r) => {
        const first = earlier.get(r.uniqueKey!) ?? firstInBatch.get(r.uniqueKey!)!;
        return { ...r, uniqueKey: null, state: 'duplicate' as const, error: `duplicate of row ${first}` };
      });
      if (duplicates.length > 0) await client.query(INSERT_ROWS, rowParams(campaignId, duplicates, createdAt, now));
      const pending = candidates.filter((r) => inserted.has(r.row) && r.state === 'pending');
      if (pending.length > 0) {
        await client.query(addJobsFor('unnest($1::text[], $2::int[], $3::text[]) AS u (campaign_id, row_number, idempotency_key)', SEND_SPEC_PARKED), [
          pending.map(() => campaignId),
          pending.map((r) => r.row),
          pending.map((r) => r.idempotencyKey),
        ]);
      }
    });
  }

  /**
   * Gives every pending or held row of a running, loaded campaign its job at its
   * next_attempt_at (import done, resumed). Jobs due at one moment run in no set order, so
   * each is due a microsecond per row later than the one before: the list goes out in its
   * order, as SQLite's claims take it (100,000 rows: a tenth of a second in all).
   */
  private async enqueueCampaign(client: pg.PoolClient, campaignId: string): Promise<void> {
    await client.query(
      addJobsFor(
        `(SELECT r.campaign_id, r.row_number, r.idempotency_key, r.next_attempt_at + make_interval(secs => r.row_number / 1e6) AS run_at
          FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
          WHERE r.campaign_id = $1 AND r.state IN ('pending', 'held') AND c.state = 'running' AND c.loaded ORDER BY r.row_number) AS due`,
        SEND_SPEC_DUE,
      ),
      [campaignId],
    );
  }

  async getCampaign(id: string): Promise<Campaign | undefined> {
    const { rows } = await this.pool.query<CampaignDbRow>('SELECT * FROM campaigns WHERE id = $1', [id]);
    return rows[0] && this.toCampaign(rows[0]);
  }

  async listCampaigns(filter: { state?: CampaignState; limit?: number } = {}): Promise<Campaign[]> {
    const { rows } = await this.pool.query<CampaignDbRow>('SELECT * FROM campaigns WHERE ($1::text IS NULL OR state = $1) ORDER BY created_at DESC, id LIMIT $2', [
      filter.state ?? null,
      filter.limit ?? 100,
    ]);
    return Promise.all(rows.map((r) => this.toCampaign(r)));
  }

  async setCampaignState(id: string, state: CampaignState): Promise<boolean> {
    const from: Record<CampaignState, CampaignState[]> = {
      running: ['paused'],
      paused: ['running'],
      canceled: ['running', 'paused'],
      completed: ['running'],
    };
    return this.transaction(async (client) => {
      const now = new Date();
      const { rowCount } = await client.query('UPDATE campaigns SET state = $2, updated_at = $3 WHERE id = $1 AND state = ANY($4::text[])', [id, state, now, from[state]]);
      if (!rowCount) return false;
      if (state === 'canceled') await this.cancelRows(client, id, now);
      // Paused: the rows' jobs wait (parked) instead of running only to find the campaign paused.
      if (state === 'paused') {
        await client.query(
          addJobsFor(`(SELECT campaign_id, row_number, idempotency_key FROM campaign_recipients WHERE campaign_id = $1 AND state IN ('pending', 'held')) AS waiting`, SEND_SPEC_PARKED),
          [id],
        );
      }
      if (state === 'running') await this.enqueueCampaign(client, id);
      return true;
    });
  }

  async setCampaignResumeAt(id: string, at: Date | null): Promise<void> {
    // Jobs due before `at` find the campaign waiting and move themselves to `at` (afterMissedClaim).
    await this.pool.query('UPDATE campaigns SET resume_at = $2, updated_at = $3 WHERE id = $1', [id, at, new Date()]);
  }

  async completeIfDone(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE campaigns SET state = 'completed', updated_at = $2 WHERE id = $1 AND state = 'running' AND loaded
         AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND state IN ('pending', 'held', 'sending', 'outcome_unknown'))`,
      [id, new Date()],
    );
    return (rowCount ?? 0) > 0;
  }

  async counts(id: string): Promise<StateCounts> {
    const counts = emptyCounts();
    const { rows } = await this.pool.query<{ state: RecipientState; n: number }>('SELECT state, count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 GROUP BY state', [id]);
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  async deliveryCounts(id: string): Promise<Record<string, number>> {
    const statusTable = await this.hasTable('status_current');
    const { rows } = await this.pool.query<{ status: string; n: number }>(
      statusTable
        ? `SELECT COALESCE(s.status, 'unknown') AS status, count(*)::int AS n FROM campaign_recipients r
             LEFT JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid
           WHERE r.campaign_id = $1 AND r.state = 'sent' GROUP BY 1`
        : `SELECT 'unknown' AS status, count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 AND state = 'sent' GROUP BY 1`,
      [id],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /**
   * The store's tables (send_reservations, inbound_messages, opt_out_audit, status_current)
   * come from the PostgreSQL store adapter; on a database without them (the outbox alone)
   * what they would tell is reported as none (0), not as an error.
   */
  async insights(id: string, now: Date): Promise<CampaignInsights> {
    const [status = false, reservations = false, inbound = false, optOuts = false] = await Promise.all(['status_current', 'send_reservations', 'inbound_messages', 'opt_out_audit'].map((t) => this.hasTable(t)));
    const callbackFailures = status
      ? `UNION ALL SELECT s.error_code AS code, 'message ' || s.status || COALESCE(' (error ' || s.error_code || ')', '') AS example
           FROM campaign_recipients r JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid
           WHERE r.campaign_id = $1 AND r.state = 'sent' AND s.status IN ('undelivered', 'failed')`
      : '';
    const errors = await this.pool.query<{ code: number | null; count: number; example: string }>(
      `SELECT code, count(*)::int AS count, min(example) AS example FROM (
         SELECT error_code AS code, COALESCE(error, 'failed') AS example FROM campaign_recipients WHERE campaign_id = $1 AND state = 'failed_send'
         ${callbackFailures}) e
       GROUP BY code ORDER BY count DESC, code NULLS LAST`,
      [id],
    );
    const sent = await this.pool.query<{ first: Date | null; last: Date | null; recent: number }>(
      `SELECT min(sent_at) AS first, max(sent_at) AS last, count(*) FILTER (WHERE sent_at > $2::timestamptz - interval '1 minute' AND sent_at <= $2)::int AS recent
       FROM campaign_recipients WHERE campaign_id = $1 AND state = 'sent'`,
      [id, now],
    );
    const scalar = async (sql: string | false): Promise<number> => (sql ? Number((await this.pool.query<{ v: unknown }>(sql, [id])).rows[0]?.v ?? 0) : 0);
    const [spentUsd, replies, optOutCount] = await Promise.all([
      scalar(
        reservations &&
          `SELECT COALESCE(sum(sr.estimated_cost), 0) AS v FROM campaign_recipients r JOIN send_reservations sr ON sr.sid = r.message_sid
           WHERE r.campaign_id = $1 AND r.state = 'sent'`,
      ),
      scalar(
        inbound &&
          `SELECT count(*) AS v FROM campaign_recipients r JOIN inbound_messages m ON m.from_number = r.to_address AND m.received_at > r.sent_at
           WHERE r.campaign_id = $1 AND r.state = 'sent'`,
      ),
      scalar(
        optOuts &&
          `SELECT count(DISTINCT r.row_number) AS v FROM campaign_recipients r JOIN opt_out_audit a ON a.recipient = r.to_address AND a.action = 'add' AND a.at > r.sent_at
           WHERE r.campaign_id = $1 AND r.state = 'sent'`,
      ),
    ]);
    const s = sent.rows[0];
    return {
      errors: errors.rows.map((e) => ({ code: e.code, count: e.count, example: e.example })),
      firstSentAt: s?.first ?? null,
      lastSentAt: s?.last ?? null,
      sentLastMinute: s?.recent ?? 0,
      spentUsd,
      replies,
      optOuts: optOutCount,
    };
  }

  async getRecipient(ref: RowRef): Promise<RecipientRow | undefined> {
    const { rows } = await this.pool.query<RecipientDbRow>(`${await this.withDelivery()} WHERE r.campaign_id = $1 AND r.row_number = $2`, [ref.campaignId, ref.row]);
    return rows[0] && toRecipient(rows[0]);
  }

  async listRecipients(campaignId: string, filter: { state?: RecipientState; afterRow?: number; limit: number }): Promise<RecipientRow[]> {
    const { rows } = await this.pool.query<RecipientDbRow>(
      `${await this.withDelivery()} WHERE r.campaign_id = $1 AND ($2::text IS NULL OR r.state = $2) AND r.row_number > $3 ORDER BY r.row_number LIMIT $4`,
      [campaignId, filter.state ?? null, filter.afterRow ?? 0, filter.limit],
    );
    return rows.map(toRecipient);
  }

  // ---- claims and settlements ---------------------------------------------------------------

  async claimBatch(n: number, now: Date, ownerPid: number): Promise<RecipientRow[]> {
    this.assertUsable();
    const { rows } = await this.pool.query<RecipientDbRow>(
      `UPDATE campaign_recipients r SET state = 'sending', owner_instance = $1, owner_pid = $2, attempts = r.attempts + 1, attempt_started_at = $3, updated_at = $3
       FROM (SELECT d.campaign_id, d.row_number FROM campaign_recipients d JOIN campaigns c ON c.id = d.campaign_id
             WHERE d.state IN ('pending', 'held') AND d.next_attempt_at <= $3
               AND c.state = 'running' AND c.loaded AND (c.resume_at IS NULL OR c.resume_at <= $3) AND ${LIVE('$1')}
             ORDER BY d.next_attempt_at, d.campaign_id, d.row_number LIMIT $4
             FOR UPDATE OF d SKIP LOCKED) due
       WHERE r.campaign_id = due.campaign_id AND r.row_number = due.row_number
       RETURNING r.*`,
      [this.instanceId, ownerPid, now, n],
    );
    return rows.map(toRecipient).sort(byRow);
  }

  async claimUnknown(n: number, now: Date, ownerPid: number): Promise<RecipientRow[]> {
    this.assertUsable();
    const { rows } = await this.pool.query<RecipientDbRow>(
      `UPDATE campaign_recipients r SET owner_instance = $1, owner_pid = $2, updated_at = $3
       FROM (SELECT campaign_id, row_number FROM campaign_recipients
             WHERE state = 'outcome_unknown' AND owner_instance IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $3) AND ${LIVE('$1')}
             ORDER BY campaign_id, row_number LIMIT $4
             FOR UPDATE SKIP LOCKED) due
       WHERE r.campaign_id = due.campaign_id AND r.row_number = due.row_number
       RETURNING r.*`,
      [this.instanceId, ownerPid, now, n],
    );
    return rows.map(toRecipient).sort(byRow);
  }

  /**
   * Records the holder's decision and schedules the row's next turn in the same statement:
   * pending or held → its send job at nextAttemptAt (parked while the campaign is paused);
   * outcome_unknown → a reconcile job; anything else → no job (the running one ends).
   * A row of a campaign canceled meanwhile (another instance canceled it) is canceled
   * instead of pending again, so no row of a canceled campaign waits for a turn.
   */
  async settle(ref: RowRef, ownerPid: number, outcome: Settlement, now: Date): Promise<boolean> {
    this.assertUsable();
    const next = 'nextAttemptAt' in outcome ? outcome.nextAttemptAt : null;
    const { rows } = await this.pool.query<{ state: RecipientState }>(
      `WITH s AS (
         UPDATE campaign_recipients r SET
           state = CASE WHEN $5 IN ('pending', 'held') AND c.state = 'canceled' THEN 'canceled' ELSE $5 END,
           error = CASE WHEN $5 IN ('pending', 'held') AND c.state = 'canceled' THEN 'campaign canceled' ELSE $8 END,
           next_attempt_at = CASE WHEN $5 IN ('pending', 'held') AND c.state = 'canceled' THEN NULL ELSE $7::timestamptz END,
           message_sid = COALESCE($6, r.message_sid), error_code = $9, owner_instance = NULL, owner_pid = NULL, updated_at = $10,
           sent_at = CASE WHEN $5 = 'sent' THEN $10 ELSE r.sent_at END,
           -- A hold, a give-back or a pause tried nothing: the claim's attempt is taken back.
           attempts = GREATEST(0, r.attempts - $11::int)
         FROM campaigns c
         WHERE c.id = r.campaign_id AND r.campaign_id = $1 AND r.row_number = $2 AND r.owner_instance = $3 AND r.owner_pid = $4
           AND r.state IN ('sending', 'outcome_unknown')
         RETURNING r.campaign_id, r.row_number, r.idempotency_key, r.state, r.next_attempt_at, c.state AS campaign_state, c.loaded)
       SELECT s.state,
         CASE WHEN s.state IN ('pending', 'held') THEN (${addJobsFor(
           `(SELECT s.campaign_id, s.row_number, s.idempotency_key,
               CASE WHEN s.campaign_state = 'running' AND s.loaded THEN s.next_attempt_at ELSE 'infinity'::timestamptz END AS run_at) AS t`,
           jobSpec(`'${SEND_TASK}'`, 'run_at'),
         )})
         WHEN s.state = 'outcome_unknown' THEN (${addJobsFor('(SELECT s.campaign_id, s.row_number, s.idempotency_key, s.next_attempt_at) AS t', RECONCILE_SPEC('next_attempt_at'))})
         END AS jobs
       FROM s`,
      [
        ref.campaignId,
        ref.row,
        this.instanceId,
        ownerPid,
        outcome.state,
        outcome.state === 'sent' ? outcome.messageSid : null,
        next,
        outcome.state === 'sent' ? null : (outcome.error ?? null),
        outcome.state === 'sent' ? null : (outcome.errorCode ?? null),
        now,
        'notAnAttempt' in outcome && outcome.notAnAttempt ? 1 : 0,
      ],
    );
    if (rows.length === 0) return false;
    const key = refKey(ref);
    if (this.inFlight.has(key)) this.settledInFlight.add(key);
    return true;
  }

  async releaseStale(pidAlive: (pid: number) => boolean, now: Date): Promise<number> {
    this.assertUsable();
    let released = 0;
    const { rows: owners } = await this.pool.query<{ pid: number }>(
      "SELECT DISTINCT owner_pid AS pid FROM campaign_recipients WHERE owner_instance = $1 AND state IN ('sending', 'outcome_unknown') AND owner_pid IS NOT NULL",
      [this.instanceId],
    );
    for (const { pid } of owners) {
      if (pidAlive(pid)) continue;
      released += await this.releaseOwn('owner_pid = $2', [pid], now);
    }
    const { rows: loaders } = await this.pool.query<{ pid: number }>(
      "SELECT DISTINCT loader_pid AS pid FROM campaigns WHERE NOT loaded AND state = 'running' AND loader_instance = $1 AND loader_pid IS NOT NULL",
      [this.instanceId],
    );
    for (const { pid } of loaders) {
      if (pidAlive(pid)) continue;
      await this.transaction((client) => this.cancelImports(client, 'loader_instance = $1 AND loader_pid = $2', [this.instanceId, pid], now));
    }
    await this.takeOverDead(now);
    return released;
  }

  /** This instance's rows matching `where` (over campaign_recipients, $1 is the instance) whose holder is gone: to reconcile. Returns how many became outcome_unknown. */
  private async releaseOwn(where: string, params: unknown[], now: Date): Promise<number> {
    const at = `$${params.length + 2}`;
    const { rows } = await this.pool.query<{ unknown: number }>(
      `WITH lost AS (
         UPDATE campaign_recipients SET state = 'outcome_unknown', owner_instance = NULL, owner_pid = NULL, next_attempt_at = ${at},
           error = 'the process sending it stopped before Twilio answered', updated_at = ${at}
         WHERE owner_instance = $1 AND state = 'sending' AND ${where}
         RETURNING campaign_id, row_number, idempotency_key, next_attempt_at),
       let_go AS (
         UPDATE campaign_recipients SET owner_instance = NULL, owner_pid = NULL, updated_at = ${at}
         WHERE owner_instance = $1 AND state = 'outcome_unknown' AND ${where}
         RETURNING campaign_id, row_number, idempotency_key, next_attempt_at),
       jobs AS (${addJobsFor('(SELECT * FROM lost UNION ALL SELECT * FROM let_go) AS held', RECONCILE_SPEC(`coalesce(next_attempt_at, ${at})`))})
       SELECT (SELECT count(*) FROM lost)::int AS unknown, (SELECT jobs FROM jobs) AS jobs`,
      [this.instanceId, ...params, now],
    );
    return rows[0]?.unknown ?? 0;
  }

  // ---- push: graphile-worker hands out the due rows ----------------------------------------

  async startPush(handler: (due: DueRow) => Promise<void>, options: PushOptions): Promise<void> {
    this.assertUsable();
    if (this.push) throw new Error('the outbox is already handing out rows (startPush was called twice)');
    this.push = { handler, options };
    await this.startWorkerPool(handler, options);
  }

  async stopPush(): Promise<void> {
    this.push = undefined;
    await this.stopWorkerPool();
  }

  private async startWorkerPool(handler: (due: DueRow) => Promise<void>, options: PushOptions): Promise<void> {
    // No job is fetched before the pool's id is on record: a crash right after a fetch must
    // leave locks that a takeover knows to free.
    let open: (flags: null) => void = () => undefined;
    const recorded = new Promise<null>((resolve) => (open = resolve));
    const task = (payload: unknown, helpers: JobHelpers) => this.runJob(payload, helpers, handler, options);
    const workerPool = runTaskList(
      {
        concurrency: options.concurrency,
        noHandleSignals: true,
        pollInterval: this.options.pollIntervalMs ?? 1000,
        useNodeTime: true,
        logger: this.logger,
        forbiddenFlags: () => recorded,
      },
      { [SEND_TASK]: task, [RECONCILE_TASK]: task },
      this.pool,
    );
    // A pool that stops by itself (its database went away for good) has logged why; this keeps the rejection handled.
    workerPool.promise.catch((error: unknown) => log.error(`campaign outbox: the job worker pool of ${this.instanceId} stopped: ${message(error)}`));
    this.workerPool = workerPool;
    try {
      await addWorkerPool(this.pool, this.instanceId, workerPool.id);
    } catch (error) {
      this.workerPool = undefined;
      await Promise.resolve(workerPool.gracefulShutdown('could not record the worker pool')).catch(() => undefined);
      throw error;
    }
    open(null);
  }

  private async stopWorkerPool(): Promise<void> {
    const workerPool = this.workerPool;
    this.workerPool = undefined;
    if (!workerPool) return;
    // Graceful: the rows handed out finish (the engine gives back those it will not send), then the jobs' locks go.
    await Promise.resolve(workerPool.gracefulShutdown('the campaign engine stopped')).catch((error: unknown) => log.warn(`campaign outbox: stopping the job workers: ${message(error)}`));
    await workerPool.promise.catch(() => undefined);
  }

  /** A job's turn: claim its row and hand it to the engine, or find out why not and schedule accordingly. */
  private async runJob(payload: unknown, helpers: JobHelpers, handler: (due: DueRow) => Promise<void>, options: PushOptions): Promise<void> {
    const ref = parsePayload(payload);
    if (!ref) return; // not a job of ours: nothing to do, let it end
    if (this.abandoned) return new Promise(() => undefined); // a crashed process does nothing more
    const signal = this.lifeAbort.signal;
    const now = new Date(options.now());
    const reconcileFirst = helpers.job.task_identifier === RECONCILE_TASK;
    let due = reconcileFirst ? await this.claimOne('reconcile', ref, now, options.ownerPid) : await this.claimOne('send', ref, now, options.ownerPid);
    due ??= reconcileFirst ? await this.claimOne('send', ref, now, options.ownerPid) : await this.claimOne('reconcile', ref, now, options.ownerPid);
    if (!due) {
      await this.afterMissedClaim(ref, now);
      return;
    }
    const key = refKey(ref);
    this.inFlight.add(key);
    try {
      await handler({ ...due, signal });
    } catch (error) {
      // The engine reports its own failures; here it is only about the row left behind.
      log.debug(`campaign outbox: the handler of ${key} failed: ${message(error)}`);
    } finally {
      const settled = this.settledInFlight.delete(key);
      this.inFlight.delete(key);
      // Claimed and never settled: it may have gone out, so it is reconciled, never simply pending again.
      if (!settled && !this.abandoned) await this.releaseOwn('campaign_id = $2 AND row_number = $3 AND owner_pid = $4', [ref.campaignId, ref.row, options.ownerPid], new Date(options.now()));
    }
  }

  private async claimOne(kind: DueRow['kind'], ref: RowRef, now: Date, ownerPid: number): Promise<DueRow | undefined> {
    const sql =
      kind === 'send'
        ? `UPDATE campaign_recipients r SET state = 'sending', owner_instance = $3, owner_pid = $4, attempts = r.attempts + 1, attempt_started_at = $5, updated_at = $5
           FROM campaigns c
           WHERE c.id = r.campaign_id AND r.campaign_id = $1 AND r.row_number = $2 AND r.state IN ('pending', 'held') AND r.next_attempt_at <= $5
             AND c.state = 'running' AND c.loaded AND (c.resume_at IS NULL OR c.resume_at <= $5) AND ${LIVE('$3')}
           RETURNING r.*`
        : `UPDATE campaign_recipients r SET owner_instance = $3, owner_pid = $4, updated_at = $5
           WHERE r.campaign_id = $1 AND r.row_number = $2 AND r.state = 'outcome_unknown' AND r.owner_instance IS NULL
             AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $5) AND ${LIVE('$3')}
           RETURNING r.*`;
    const { rows } = await this.pool.query<RecipientDbRow>(sql, [ref.campaignId, ref.row, this.instanceId, ownerPid, now]);
    return rows[0] && { kind, row: toRecipient(rows[0]) };
  }

  /**
   * The job's row could not be claimed. Why decides what becomes of the job: a row that is
   * final, or held by someone who will settle it, needs none (this one ends); a row that
   * waits (not due yet, campaign paused, importing, or held back until resume_at) gets its
   * job moved to when it can run; a row this instance holds but no handler has is stale.
   */
  private async afterMissedClaim(ref: RowRef, now: Date): Promise<void> {
    const { rows } = await this.pool.query<{
      state: RecipientState;
      next_attempt_at: Date | null;
      owner_instance: string | null;
      campaign_state: CampaignState;
      loaded: boolean;
      resume_at: Date | null;
      live: boolean;
    }>(
      `SELECT r.state, r.next_attempt_at, r.owner_instance, c.state AS campaign_state, c.loaded, c.resume_at, ${IS_LIVE('$3')} AS live
       FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.campaign_id = $1 AND r.row_number = $2`,
      [ref.campaignId, ref.row, this.instanceId],
    );
    const row = rows[0];
    if (!row) return;
    // Taken over: this job is not ours to end (failing leaves it to the instance that has it now).
    if (!row.live) throw new Error(`instance ${this.instanceId} was taken over; it works on no more rows in this life`);
    const later = (ms: number) => new Date(now.getTime() + ms);
    if (row.state === 'pending' || row.state === 'held') {
      if (row.campaign_state === 'canceled' || row.campaign_state === 'completed') return;
      if (row.campaign_state === 'paused' || !row.loaded) return this.reschedule(ref, SEND_TASK, 'infinity');
      if (row.resume_at && row.resume_at > now) return this.reschedule(ref, SEND_TASK, row.resume_at);
      if (row.next_attempt_at && row.next_attempt_at > now) return this.reschedule(ref, SEND_TASK, row.next_attempt_at);
      return this.reschedule(ref, SEND_TASK, later(RETRY_MISSED_CLAIM_MS));
    }
    if (row.state === 'sending' || row.state === 'outcome_unknown') {
      if (row.owner_instance === this.instanceId && !this.inFlight.has(refKey(ref))) {
        await this.releaseOwn('campaign_id = $2 AND row_number = $3', [ref.campaignId, ref.row], now);
        return;
      }
      if (row.state === 'outcome_unknown' && row.owner_instance === null) {
        return this.reschedule(ref, RECONCILE_TASK, row.next_attempt_at && row.next_attempt_at > now ? row.next_attempt_at : later(RETRY_MISSED_CLAIM_MS));
      }
    }
  }

  /** Gives the row's job a new run_at (the running job hands its key to a new one). */
  private async reschedule(ref: RowRef, task: string, runAt: Date | 'infinity'): Promise<void> {
    await this.pool.query(
      addJobsFor(
        '(SELECT campaign_id, row_number, idempotency_key FROM campaign_recipients WHERE campaign_id = $1 AND row_number = $2) AS one',
        jobSpec(`'${task}'`, '$3::timestamptz', task === RECONCILE_TASK ? String(RECONCILE_PRIORITY) : 'NULL'),
      ),
      [ref.campaignId, ref.row, runAt],
    );
  }

  // ---- closing ------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    if (this.abandoned) return;
    await this.recovering;
    await this.stopPush();
    // Rows still held (claimed and never settled) are left as a takeover leaves them, then the instance is stopped.
    await this.takeOver(this.instanceId, { anyLife: true, now: new Date() });
    await markStopped(this.pool, this.instanceId);
  }

  abandon(): void {
    this.abandoned = true;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const workerPool = this.workerPool;
    this.workerPool = undefined;
    this.push = undefined;
    // Stops fetching. Whatever it tries to release goes through the pool, which a real crash has lost too.
    if (workerPool) void Promise.resolve(workerPool.forcefulShutdown('abandoned')).catch(() => undefined);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private assertUsable(): void {
    if (this.abandoned) throw new Error(`the campaign outbox of instance ${this.instanceId} was abandoned`);
  }

  private async toCampaign(r: CampaignDbRow): Promise<Campaign> {
    return {
      id: r.id,
      name: r.name,
      channel: r.channel,
      template: r.template,
      contentSid: r.content_sid,
      from: r.from_address,
      messagingServiceSid: r.messaging_service_sid,
      ratePerSecond: r.rate_per_second,
      createdAt: r.created_at,
      state: r.state,
      loaded: r.loaded,
      resumeAt: r.resume_at,
      updatedAt: r.updated_at,
      error: r.error,
      counts: await this.counts(r.id),
    };
  }

  private async withDelivery(): Promise<string> {
    return (await this.hasTable('status_current'))
      ? `SELECT r.*, s.status AS delivery_status FROM campaign_recipients r LEFT JOIN status_current s ON s.kind = 'message' AND s.sid = r.message_sid`
      : 'SELECT r.*, NULL::text AS delivery_status FROM campaign_recipients r';
  }

  /** Whether a store table exists; looked up again every few seconds while some are missing (the store may migrate after the outbox opened). */
  private async hasTable(name: string): Promise<boolean> {
    const STORE_TABLES = ['status_current', 'send_reservations', 'inbound_messages', 'opt_out_audit'];
    const checked = this.tablesChecked;
    if (checked && (checked.present.size === STORE_TABLES.length || Date.now() - checked.at < 5000)) return checked.present.has(name);
    const { rows } = await this.pool.query<{ name: string }>('SELECT t AS name FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL', [STORE_TABLES]);
    this.tablesChecked = { at: Date.now(), present: new Set(rows.map((r) => r.name)) };
    return this.tablesChecked.present.has(name);
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.assertUsable();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // Closing the connection rolls back whatever state the transaction is in.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Opens the outbox on `pool` (migrating the instances, outbox and job-queue schemas), takes
 * over what a previous life of `options.instanceId` left, and registers this instance.
 */
export async function openPostgresOutbox(pool: pg.Pool, options: PostgresOutboxOptions): Promise<PostgresOutbox> {
  if (!/^[\w.:@-]{1,200}$/.test(options.instanceId)) {
    throw new Error(`instance id ${JSON.stringify(options.instanceId)} is not usable: use 1 to 200 letters, digits and . _ - : @ (a host or pod name)`);
  }
  await migratePostgresOutbox(pool);
  const outbox = new PgOutbox(pool, options.instanceId, options);
  await outbox.startLife();
  return outbox;
}

/** Brings the instances, outbox and job-queue (graphile-worker) schemas up to date; openPostgresOutbox does it too. */
export async function migratePostgresOutbox(pool: pg.Pool): Promise<void> {
  guardPool(pool);
  await migrateInstances(pool);
  await migrate(pool, 'outbox', OUTBOX_MIGRATIONS);
  await migrateJobQueue(pool, new Logger(graphileLogFactory('migrations')));
}

/** An instance id for a process that was given none: its host name and a random suffix (a restart is a new instance; the old one is taken over after the TTL). */
export function defaultInstanceId(): string {
  return `${hostname().replace(/[^\w.-]/g, '-').slice(0, 120)}-${randomUUID().slice(0, 8)}`;
}
