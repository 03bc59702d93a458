/**
 * Versioned schema migrations on PostgreSQL: one numbered list per component ('store',
 * 'outbox', 'instances'), recorded in schema_migrations. Never edit a shipped migration:
 * add the next one.
 *
 * Several instances may start at once against one database: the whole run holds a session
 * advisory lock (one for every component, since two components' first runs would otherwise
 * race to create schema_migrations), and the version is read under it. Each missing version
 * runs in its own transaction together with its record, so a failure leaves the database at
 * the version before it.
 */
import type pg from 'pg';

/** An arbitrary constant every instance shares, recognisable in pg_locks: "twil" "mig". */
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
 * Applies the migrations of `component` that the database lacks: `migrations[i]` is version
 * i + 1 (SQL, several statements allowed). Refuses, changing nothing, a database whose
 * version is newer than `migrations.length`.
 */
export async function migrate(pool: pg.Pool, component: string, migrations: readonly string[]): Promise<void> {
  const client = await pool.connect();
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
        // No parameters: the simple query protocol runs a migration's statements as one.
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
    client.release();
  } catch (error) {
    // Closing the connection rolls back an open transaction and drops the advisory lock,
    // whatever state the session is in; returned to the pool it would keep both.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
