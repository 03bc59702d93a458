/**
 * Which store this server runs on, chosen once at start: SQLite in the data directory (the
 * embedded default: nothing to set up), or PostgreSQL when TWILIO_MCP_DATABASE_URL names one
 * (several instances behind a load balancer share it). Everything above the store sees the
 * same Store and Outbox interfaces; only what several instances need in addition lives here:
 * this instance's identity, the others alive, and the channel events cross instances on.
 */
import { hostname } from 'node:os';
import type { CampaignEngineOptions } from '../campaigns/engine.js';
import { ConfigError } from '../errors/startup-errors.js';
import { log } from '../util/log.js';
import type { Outbox } from './outbox.js';
import type { ClusterChannel } from './postgres/pg-notify.js';
import type { Store } from './store.js';

export interface StoreBackend {
  readonly kind: 'sqlite' | 'postgresql';
  readonly store: Store;
  /** The campaign outbox on the same database, and what the engine needs to run on it. */
  openOutbox(): Promise<{ outbox: Outbox; engineOptions: Partial<CampaignEngineOptions>; close(): Promise<void> }>;
  /** Events between instances (PostgreSQL only). */
  readonly cluster: ClusterChannel | undefined;
  /** What get_server_status says about the store. */
  describe(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

const DEFAULT_TTL_MS = 15_000;

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError([`${name} must be a whole number above 0; got "${raw}".`]);
  return value;
}

export async function openBackend(env: NodeJS.ProcessEnv): Promise<StoreBackend> {
  const url = env.TWILIO_MCP_DATABASE_URL?.trim();
  return url ? openPostgresBackend(url, env) : openSqliteBackend(env);
}

async function openSqliteBackend(env: NodeJS.ProcessEnv): Promise<StoreBackend> {
  const [{ openStoreInDir, STORE_FILE_NAME }, { resolveDataDir }, { join }] = await Promise.all([
    import('./sqlite-store.js'),
    import('./data-dir.js'),
    import('node:path'),
  ]);
  const dir = resolveDataDir(env);
  const store = openStoreInDir(dir);
  log.info(`store: ${dir}`);
  return {
    kind: 'sqlite',
    store,
    cluster: undefined,
    async openOutbox() {
      const { openSqliteOutbox } = await import('./sqlite-outbox.js');
      // Its own connections on the store's file: claims and settlements do not queue behind the store's.
      const outbox = openSqliteOutbox(join(dir, STORE_FILE_NAME));
      return { outbox, engineOptions: {}, close: () => outbox.close() };
    },
    describe: async () => ({ backend: 'sqlite', data_dir: dir }),
    close: () => store.close(),
  };
}

async function openPostgresBackend(url: string, env: NodeJS.ProcessEnv): Promise<StoreBackend> {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new ConfigError(['TWILIO_MCP_DATABASE_URL must be a postgres:// (or postgresql://) URL, e.g. postgres://user:password@db.example.com:5432/twilio_mcp; unset it to use the embedded SQLite store.']);
  }
  const [{ createPool, describeDatabase }, { openPostgresStore }, { openPgNotify }, instances] = await Promise.all([
    import('./postgres/pool.js'),
    import('./postgres/pg-store.js'),
    import('./postgres/pg-notify.js'),
    import('./postgres/instances.js'),
  ]);
  const poolSize = positiveInt(env, 'TWILIO_MCP_DATABASE_POOL_SIZE', 10);
  const ttlMs = positiveInt(env, 'TWILIO_MCP_INSTANCE_TTL_MS', DEFAULT_TTL_MS);
  // Unique among the live instances; a new process under a dead one's name takes over what it held.
  const name = env.TWILIO_MCP_INSTANCE_NAME?.trim() || `${hostname()}:${process.pid}`;
  const where = describeDatabase(url);
  const pool = createPool(url, { max: poolSize });
  let store: Store;
  let cluster: ClusterChannel;
  try {
    store = await openPostgresStore(pool, { instanceId: name });
    cluster = await openPgNotify(url, pool, { instanceId: name });
  } catch (error) {
    await pool.end().catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError([`The PostgreSQL store at ${where} could not be opened: ${message}. Check TWILIO_MCP_DATABASE_URL (host, port, database, user) and that the server accepts connections.`]);
  }
  log.info(`store: PostgreSQL ${where} (instance ${name})`);
  const closers: Array<() => Promise<void>> = [];
  return {
    kind: 'postgresql',
    store,
    cluster,
    async openOutbox() {
      const { openPostgresOutbox } = await import('./postgres/pg-outbox.js');
      const outbox = await openPostgresOutbox(pool, { instanceId: name, instanceTtlMs: ttlMs, info: { name } });
      const close = async () => outbox.close();
      closers.push(close);
      // The token buckets live in the database: every instance paces a sender together.
      // Sends in flight at once: each holds a pool connection for its claim and settlement,
      // so no more than the pool can serve without making the others wait for a connection.
      return { outbox, engineOptions: { rateLimits: outbox.rateLimits, concurrency: Math.max(4, poolSize) }, close };
    },
    async describe() {
      const all = await instances.liveInstances(pool, ttlMs).catch(() => []);
      const me = all.find((i) => i.id === name);
      return {
        backend: 'postgresql',
        database: where,
        instance: { name, id: name, started_at: me?.startedAt.toISOString() ?? null },
        other_instances: all.filter((i) => i.id !== name).map((i) => ({ name: i.id, last_seen: i.lastSeen.toISOString() })),
        note: 'Stateless (2026-07-28) requests may land on any instance; a 2025-era session lives on the instance that created it (route it there: sticky sessions).',
      };
    },
    async close() {
      await cluster.close().catch(() => {});
      await store.close().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
