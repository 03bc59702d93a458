/**
 * PostgreSQL outboxes for campaign tests: each test gets its own database (a copy of a
 * migrated template), instances are opened on pools of their own (as separate processes
 * would be), closed after the test, and an instance can be "crashed": its connections cut
 * from the server side and its pool made useless before it is abandoned, so nothing it held
 * is released or recorded — exactly what a killed process leaves.
 */
import pg from 'pg';
import { afterEach } from 'vitest';
import { migratePostgresOutbox, openPostgresOutbox, type PostgresOutbox, type PostgresOutboxOptions } from '../../src/store/postgres/pg-outbox.js';
import { tempDatabases } from '../helpers/pg-temp.js';

/** A template database with the outbox's schemas. */
async function migrated(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  try {
    await migratePostgresOutbox(pool);
  } finally {
    await pool.end();
  }
}

export interface PgInstance {
  id: string;
  outbox: PostgresOutbox;
  pool: pg.Pool;
}

export function pgOutboxes() {
  const databases = tempDatabases({ prepare: migrated });
  const opened: PgInstance[] = [];
  const crashed = new Set<string>();
  afterEach(async () => {
    for (const instance of opened.splice(0)) if (!crashed.has(instance.id)) await instance.outbox.close();
    crashed.clear();
  });
  return {
    databases,
    fresh: () => databases.create(),
    /** An instance on `url` with a pool of its own. Tests default to a 1 s TTL and a 50 ms job poll. */
    async open(url: string, id: string, options: Partial<PostgresOutboxOptions> = {}): Promise<PgInstance> {
      const pool = databases.pool(url, { applicationName: `test-${id}`, max: 12 });
      const outbox = await openPostgresOutbox(pool, { instanceId: id, instanceTtlMs: 1000, heartbeatMs: 200, pollIntervalMs: 50, ...options });
      const instance = { id, outbox, pool };
      opened.push(instance);
      return instance;
    },
    /** The process of `instance` dies: connections gone, no heartbeat, nothing released. */
    async crash(url: string, instance: PgInstance): Promise<void> {
      crashed.add(instance.id);
      // A dead process's calls never come back: its pool hands out nothing, ever.
      // Typed loosely: the stand-ins match none of pg's overloads, and need not (they never answer).
      const pool: { connect: unknown; query: unknown } = instance.pool;
      pool.connect = () => new Promise(() => undefined);
      pool.query = () => new Promise(() => undefined);
      await databases.terminate(url, `test-${instance.id}`);
      instance.outbox.abandon();
    },
  };
}

/** Polls `condition` (bounded in time) until it holds; fails with `what` otherwise. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
