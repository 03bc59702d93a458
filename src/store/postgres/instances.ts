/**
 * The server instances that share one PostgreSQL database. Each registers under an id that
 * is unique among live processes and heartbeats; one whose heartbeat is older than the TTL
 * is dead, and another instance takes over what it held (pg-outbox.ts: its claimed rows go
 * to outcome_unknown and are reconciled, its job-queue locks are freed). The table is also
 * what the server's status lists.
 *
 * Every moment here is PostgreSQL's now(): liveness is judged on one clock, whatever the
 * instances' own clocks say.
 */
import type pg from 'pg';
import { migrate } from './migrate.js';

export const INSTANCE_MIGRATIONS: readonly string[] = [
  // 1: one row per instance id; a new life of an id replaces the old row.
  `
  CREATE TABLE server_instances (
    id text COLLATE "C" PRIMARY KEY,
    info jsonb NOT NULL DEFAULT '{}',
    -- live: heartbeating (or dead if last_seen is older than the TTL); stopped: closed cleanly;
    -- taken_over: declared dead, and what it held was taken by taken_over_by.
    state text NOT NULL CHECK (state IN ('live', 'stopped', 'taken_over')),
    started_at timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    -- graphile-worker locks jobs under its worker pool's id: what a takeover must unlock.
    worker_pools text[] NOT NULL DEFAULT '{}',
    taken_over_by text,
    taken_over_at timestamptz
  );
  CREATE INDEX server_instances_by_seen ON server_instances (last_seen) WHERE state = 'live';
  `,
];

export async function migrateInstances(pool: pg.Pool): Promise<void> {
  await migrate(pool, 'instances', INSTANCE_MIGRATIONS);
}

export type InstanceStatus = 'live' | 'dead' | 'stopped' | 'taken_over';

export interface InstanceRecord {
  id: string;
  info: Record<string, unknown>;
  /** live and dead are both state 'live' in the table: the TTL tells them apart. */
  status: InstanceStatus;
  startedAt: Date;
  lastSeen: Date;
  workerPools: string[];
  takenOverBy: string | null;
  takenOverAt: Date | null;
}

interface InstanceDbRow {
  id: string;
  info: Record<string, unknown>;
  state: 'live' | 'stopped' | 'taken_over';
  started_at: Date;
  last_seen: Date;
  worker_pools: string[];
  taken_over_by: string | null;
  taken_over_at: Date | null;
  expired: boolean;
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** The columns, and whether the heartbeat is older than the TTL in parameter `ttlParam` (none: just seen). */
const columns = (ttlParam?: number) =>
  `id, info, state, started_at, last_seen, worker_pools, taken_over_by, taken_over_at, ` +
  (ttlParam === undefined ? 'false AS expired' : `last_seen <= now() - make_interval(secs => $${ttlParam}::double precision / 1000) AS expired`);

const toRecord = (r: InstanceDbRow): InstanceRecord => ({
  id: r.id,
  info: r.info,
  status: r.state === 'live' ? (r.expired ? 'dead' : 'live') : r.state,
  startedAt: r.started_at,
  lastSeen: r.last_seen,
  workerPools: r.worker_pools,
  takenOverBy: r.taken_over_by,
  takenOverAt: r.taken_over_at,
});

/**
 * Starts a new life of `id`: live, seen now, no worker pools yet. Whatever the previous life
 * held must be taken over BEFORE this (pg-outbox.ts does): the row of the old life is replaced.
 */
export async function registerInstance(db: Queryable, id: string, info: Record<string, unknown>): Promise<InstanceRecord> {
  const { rows } = await db.query<InstanceDbRow>(
    `INSERT INTO server_instances (id, info, state, started_at, last_seen) VALUES ($1, $2, 'live', now(), now())
     ON CONFLICT (id) DO UPDATE SET info = excluded.info, state = 'live', started_at = now(), last_seen = now(),
       worker_pools = '{}', taken_over_by = NULL, taken_over_at = NULL
     RETURNING ${columns()}`,
    [id, JSON.stringify(info)],
  );
  return toRecord(rows[0]!);
}

/** Records that the instance is alive. False when it is not live any more (it was taken over or stopped): it must stop working. */
export async function heartbeat(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE server_instances SET last_seen = now() WHERE id = $1 AND state = 'live'", [id]);
  return (rowCount ?? 0) > 0;
}

/** Records a graphile-worker pool of the instance (its job locks are under this id). */
export async function addWorkerPool(db: Queryable, id: string, workerPoolId: string): Promise<void> {
  await db.query('UPDATE server_instances SET worker_pools = array_append(worker_pools, $2) WHERE id = $1', [id, workerPoolId]);
}

/** A clean stop: nothing held is left to take over. */
export async function markStopped(db: Queryable, id: string): Promise<void> {
  await db.query("UPDATE server_instances SET state = 'stopped', worker_pools = '{}', last_seen = now() WHERE id = $1 AND state = 'live'", [id]);
}

/** Instances that heartbeat within the TTL. */
export async function liveInstances(db: Queryable, ttlMs: number): Promise<InstanceRecord[]> {
  const { rows } = await db.query<InstanceDbRow>(
    `SELECT ${columns(1)} FROM server_instances WHERE state = 'live' AND last_seen > now() - make_interval(secs => $1::double precision / 1000) ORDER BY id`,
    [ttlMs],
  );
  return rows.map(toRecord);
}

/** Instances still marked live whose heartbeat is older than the TTL, not taken over yet. */
export async function deadInstances(db: Queryable, ttlMs: number): Promise<InstanceRecord[]> {
  const { rows } = await db.query<InstanceDbRow>(
    `SELECT ${columns(1)} FROM server_instances WHERE state = 'live' AND last_seen <= now() - make_interval(secs => $1::double precision / 1000) ORDER BY id`,
    [ttlMs],
  );
  return rows.map(toRecord);
}

/** Every instance the database remembers, with its status under `ttlMs` (for the server's status). */
export async function listInstances(db: Queryable, ttlMs: number): Promise<InstanceRecord[]> {
  const { rows } = await db.query<InstanceDbRow>(`SELECT ${columns(1)} FROM server_instances ORDER BY id`, [ttlMs]);
  return rows.map(toRecord);
}

export async function getInstance(db: Queryable, id: string, ttlMs: number): Promise<InstanceRecord | undefined> {
  const { rows } = await db.query<InstanceDbRow>(`SELECT ${columns(2)} FROM server_instances WHERE id = $1`, [id, ttlMs]);
  return rows[0] && toRecord(rows[0]);
}

/**
 * Locks the row of `id` for a takeover inside the caller's transaction, if it still needs
 * one: dead under `ttlMs` (or any life of `id` when `anyLife`, for an instance taking over
 * its own previous life), and not being taken over by someone else right now (SKIP LOCKED).
 */
export async function lockForTakeover(client: pg.PoolClient, id: string, ttlMs: number, anyLife: boolean): Promise<InstanceRecord | undefined> {
  const { rows } = await client.query<InstanceDbRow>(
    `SELECT ${columns(2)} FROM server_instances WHERE id = $1
       AND ($3 OR (state = 'live' AND last_seen <= now() - make_interval(secs => $2::double precision / 1000)))
     FOR UPDATE SKIP LOCKED`,
    [id, ttlMs, anyLife],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function markTakenOver(client: pg.PoolClient, id: string, by: string): Promise<void> {
  await client.query("UPDATE server_instances SET state = 'taken_over', worker_pools = '{}', taken_over_by = $2, taken_over_at = now() WHERE id = $1", [id, by]);
}
