/**
 * The PostgreSQL connection pool the PostgreSQL adapters (store, outbox, job queue) share.
 * A connection the server drops emits 'error': on the pool for an idle client, on the client
 * itself for one checked out (graphile-worker keeps one checked out to LISTEN). An 'error'
 * without a listener ends the process, so both get one: logged, and the pool opens a new
 * connection on the next query.
 */
import pg from 'pg';
import { log } from '../../util/log.js';

const guarded = new WeakSet<pg.Pool>();

/** Makes sure a dropped connection is logged, never fatal (idempotent; for pools made elsewhere too). */
export function guardPool(pool: pg.Pool): pg.Pool {
  if (guarded.has(pool)) return pool;
  guarded.add(pool);
  pool.on('error', (error) => log.warn(`PostgreSQL: an idle connection failed (${error.message}); the next query opens a new one`));
  pool.on('connect', (client) => {
    client.on('error', (error) => log.warn(`PostgreSQL: a connection in use failed (${error.message}); its query fails and the next one opens a new connection`));
  });
  return pool;
}

export function createPool(url: string, options: { max?: number } = {}): pg.Pool {
  return guardPool(new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: 'mcp-server-twilio' }));
}
