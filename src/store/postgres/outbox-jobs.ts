/**
 * How the PostgreSQL outbox uses graphile-worker: one job per recipient row, keyed by the
 * row's idempotency key (so a row never has two turns coming), written as SQL job specs so
 * the jobs change in the same statements, and transactions, as the rows they schedule; the
 * bridge from graphile-worker's logger to the server's; and graphile-worker's own migrations.
 */
import { Logger, runMigrations, type LogFunctionFactory } from 'graphile-worker';
import type pg from 'pg';
import { log } from '../../util/log.js';
import type { RowRef } from '../outbox.js';

export const SEND_TASK = 'campaign_send';
export const RECONCILE_TASK = 'campaign_reconcile';
export const JOB_KEY_PREFIX = 'campaign-row:';
/** Reconciliations before sends when both are due ("reconciled before anything else"). */
export const RECONCILE_PRIORITY = -1;
/** Any fixed pair: serialises graphile-worker's own migrations between instances starting at once. */
const JOB_QUEUE_MIGRATION_LOCK: readonly [number, number] = [0x7477696c, 0x67776d];

/**
 * A job_spec for each row of `rowsSql` (a FROM clause exposing campaign_id, row_number,
 * idempotency_key), with `taskSql`, `runAtSql` and `prioritySql` as SQL over those rows.
 * add_jobs replaces a job with the same key in place, or, if that job is running (locked),
 * takes the key from it and adds a new one.
 */
export const jobSpec = (taskSql: string, runAtSql: string, prioritySql = 'NULL') =>
  `ROW(${taskSql}, json_build_object('c', campaign_id, 'r', row_number), NULL, ${runAtSql}, NULL, '${JOB_KEY_PREFIX}' || idempotency_key, ${prioritySql}, NULL)::graphile_worker.job_spec`;
/** add_jobs over the specs of `rowsSql`, not called at all when there are none (it would notify every worker for nothing). */
export const addJobsFor = (rowsSql: string, spec: string) => `SELECT count(j.*)::int AS jobs
  FROM (SELECT ARRAY(SELECT ${spec} FROM ${rowsSql}) AS specs) x, LATERAL graphile_worker.add_jobs(x.specs) j
  WHERE cardinality(x.specs) > 0`;

/** A send job that waits (run_at infinity) until the campaign runs: while it imports or is paused. */
export const SEND_SPEC_PARKED = jobSpec(`'${SEND_TASK}'`, `'infinity'::timestamptz`);
/** A send job due at the rows' run_at column. */
export const SEND_SPEC_DUE = jobSpec(`'${SEND_TASK}'`, 'run_at');
export const RECONCILE_SPEC = (runAtSql: string) => jobSpec(`'${RECONCILE_TASK}'`, runAtSql, String(RECONCILE_PRIORITY));

/** The row a job is for (its payload), or undefined for a job that is not the outbox's. */
export function parsePayload(payload: unknown): RowRef | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { c, r } = payload as { c?: unknown; r?: unknown };
  return typeof c === 'string' && typeof r === 'number' ? { campaignId: c, row: r } : undefined;
}

/** graphile-worker's log lines through the server's logger (stderr); its chatter only at debug. */
export function graphileLogFactory(instanceId: string): LogFunctionFactory {
  return () => (level, text) => {
    const line = `job queue (${instanceId}): ${text}`;
    const name = String(level);
    if (name === 'error') log.error(line);
    else if (name === 'warning') log.warn(line);
    else log.debug(line);
  };
}

/** graphile-worker's own schema, migrated by graphile-worker, one instance at a time. */
export async function migrateJobQueue(pool: pg.Pool, logger: Logger): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...JOB_QUEUE_MIGRATION_LOCK]);
    try {
      await runMigrations({ pgPool: pool, logger, noHandleSignals: true });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...JOB_QUEUE_MIGRATION_LOCK]);
    }
    client.release();
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

