/**
 * The PostgreSQL connection pool every PostgreSQL adapter (store, outbox) shares. Bounded,
 * because several instances share one server's `max_connections`; and with an error
 * handler on idle clients, because a connection the server drops while it sits in the pool
 * (a restart, an idle timeout on a proxy) is emitted as 'error' on the pool, and an
 * EventEmitter 'error' without a listener ends the process.
 */
import pg from 'pg';
import { log, registerSecret } from '../../util/log.js';

export const DEFAULT_POOL_SIZE = 10;

/**
 * Where `url` points, without its credentials: host, port and database, for log lines and
 * error messages (a database URL may carry a password).
 */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}/${database}`;
  } catch {
    return 'the PostgreSQL database (its URL could not be parsed)';
  }
}

export function createPool(url: string, options: { max?: number } = {}): pg.Pool {
  try {
    // Masked in every log line from now on, even one that quotes the URL by accident.
    registerSecret(decodeURIComponent(new URL(url).password));
  } catch {
    // Not a URL (pg also accepts "host=… password=…" strings): pg reports it on connect.
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? DEFAULT_POOL_SIZE,
    // A database that does not answer fails the first query instead of hanging start-up.
    connectionTimeoutMillis: 10_000,
    application_name: 'mcp-server-twilio',
  });
  const where = describeDatabase(url);
  pool.on('error', (error) => {
    // The pool has already discarded the client; the next checkout opens a fresh one.
    log.warn(`PostgreSQL (${where}): an idle connection failed and was closed (${error.message}); the next query opens a new one.`);
  });
  return pool;
}

/**
 * pg-pool listens for errors on idle clients only: a checked-out client whose connection
 * drops between two queries emits 'error' with no listener, which ends the process. Held
 * connections (transactions, the migration lock) get a listener for as long as they are
 * held; the error still reaches the next query, which fails and rolls back. Returns the
 * remover, to call before release().
 */
export function guardCheckedOut(client: pg.PoolClient): () => void {
  const onError = (error: Error) => log.debug(`PostgreSQL: a connection in use failed (${error.message}); its transaction fails and is rolled back.`);
  client.on('error', onError);
  return () => client.removeListener('error', onError);
}

const guarded = new WeakSet<pg.Pool>();

/**
 * Error listeners on a pool someone else made (graphile-worker keeps a connection checked
 * out for LISTEN): on idle connections, and on every connection it opens, in use or not, so
 * a dropped connection fails its query instead of ending the process. Idempotent.
 */
export function guardPool(pool: pg.Pool): pg.Pool {
  if (guarded.has(pool)) return pool;
  guarded.add(pool);
  if (pool.listenerCount('error') === 0) pool.on('error', (error) => log.warn(`PostgreSQL: an idle connection failed (${error.message}); the next query opens a new one`));
  pool.on('connect', (client) => {
    client.on('error', (error) => log.warn(`PostgreSQL: a connection in use failed (${error.message}); its query fails and the next one opens a new connection`));
  });
  return pool;
}
