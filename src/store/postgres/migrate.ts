/**
 * Versioned schema migrations for the PostgreSQL adapters. Each component (the store, the
 * campaign outbox, …) has its own list; `schema_migrations` records which versions of
 * which component a database has. Never edit a shipped migration: add the next one.
 *
 * Several instances may start at once on one empty database: the whole run holds one
 * session-level advisory lock, and the applied version is re-read under it, so each
 * version is applied exactly once and the others find the schema current. Each version
 * runs in its own transaction, recorded in the same transaction, so a failed migration
 * leaves the database at the version before it.
 */
import type pg from 'pg';
import { guardCheckedOut } from './pool.js';

/**
 * The advisory lock every migration run takes (one for all components: two components'
 * first runs would otherwise race to create schema_migrations itself). An arbitrary
 * constant, spelled so it is recognisable in pg_locks: "twil" "mig".
 */
const MIGRATION_LOCK: readonly [number, number] = [0x7477696c, 0x6d6967];

/** The database was migrated by a newer mcp-server-twilio than this one. */
export class SchemaVersionError extends Error {
  constructor(component: string, found: number, known: number) {
    super(
      `The PostgreSQL database has version ${found} of the "${component}" schema, which is newer than this server knows ` +
        `(it knows versions up to ${known}): upgrade mcp-server-twilio, or point TWILIO_MCP_DATABASE_URL at another database.`,
    );
    this.name = 'SchemaVersionError';
  }
}

/**
 * Applies the migrations of `component` the database does not have yet: `migrations[i]`
 * is version i + 1. Refuses (SchemaVersionError, nothing changed) a database with a
 * version newer than `migrations.length`.
 */
export async function migrate(pool: pg.Pool, component: string, migrations: readonly string[]): Promise<void> {
  const client = await pool.connect();
  const unguard = guardCheckedOut(client);
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component text NOT NULL,
      version int NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version)
    )`);
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations WHERE component = $1', [component]);
    const current = rows[0]?.version ?? 0;
    if (current > migrations.length) throw new SchemaVersionError(component, current, migrations.length);
    for (let version = current + 1; version <= migrations.length; version++) {
      await client.query('BEGIN');
      try {
        // A migration is several statements without parameters: the simple query protocol runs them as one.
        await client.query(migrations[version - 1]!);
        await client.query('INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, now())', [component, version]);
        await client.query('COMMIT');
      } catch (error) {
        throw new Error(`Migration ${version} of the "${component}" schema failed (the database stays at version ${version - 1}): ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
    }
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]);
    unguard();
    client.release();
  } catch (error) {
    unguard();
    // Closing the connection rolls back an open transaction and releases the advisory lock,
    // whatever state the session was left in; a pooled connection would keep holding both.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
