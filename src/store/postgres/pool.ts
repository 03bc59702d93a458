/**
 * One pg.Pool per PostgreSQL database the server uses (store, outbox, job queue share it).
 * An idle client that the server loses (a restart of PostgreSQL, a network cut) emits
 * 'error' on the pool; without a listener that would crash the process, so it is logged
 * and the pool opens a new connection on the next query.
 */
import pg from 'pg';
import { log } from '../../util/log.js';

export function createPool(url: string, options: { max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  pool.on('error', (error) => log.warn(`PostgreSQL: an idle connection failed (${error.message}); the next query opens a new one`));
  return pool;
}
