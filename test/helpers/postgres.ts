/**
 * PostgreSQL for tests: a server reachable at postgres://postgres@127.0.0.1:5432/postgres
 * (or TWILIO_MCP_TEST_POSTGRES_URL), and a database of its own per test, dropped after.
 * A machine without one skips the PostgreSQL tests and says so in one line;
 * TWILIO_MCP_REQUIRE_POSTGRES=1 (CI) turns a missing server into a failure instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env.TWILIO_MCP_TEST_POSTGRES_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL without its password, for messages. */
const shown = (url: string) => {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(TWILIO_MCP_TEST_POSTGRES_URL, not a URL)';
  }
};

let reachability: Promise<string | undefined> | undefined;

/** Why PostgreSQL tests cannot run here (undefined: they can). Asked once per process. */
export function postgresMissing(): Promise<string | undefined> {
  reachability ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
    // A server that goes away later must fail the test, not crash the runner.
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      const reason = `cannot reach ${shown(TEST_POSTGRES_URL)} (${error instanceof Error ? error.message : String(error)})`;
      if (process.env.TWILIO_MCP_REQUIRE_POSTGRES === '1') {
        throw new Error(`postgres tests cannot run: ${reason}, and TWILIO_MCP_REQUIRE_POSTGRES=1 requires them (start PostgreSQL, or set TWILIO_MCP_TEST_POSTGRES_URL)`);
      }
      const why = `postgres tests skipped: ${reason}; set TWILIO_MCP_TEST_POSTGRES_URL, or TWILIO_MCP_REQUIRE_POSTGRES=1 to fail instead`;
      console.warn(why);
      return why;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachability;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A new empty database with a random name on the test server; `drop()` removes it, closing
 * what is still connected. `template`: a copy of that database instead (nothing may be
 * connected to it). `icuLocale`: the database's default collation, e.g. 'en-US' (which
 * sorts "Zebra" after "menu", where byte order puts it first).
 */
export async function createTempDatabase(options: { template?: string; icuLocale?: string } = {}): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `mcp_twilio_test_${randomBytes(6).toString('hex')}`;
  // Identifiers cannot be parameters: the names are ours (hex), and quoted besides; so is the locale.
  await admin((client) => {
    const template = options.template ?? (options.icuLocale ? 'template0' : undefined);
    let statement = `CREATE DATABASE ${client.escapeIdentifier(name)}`;
    if (template) statement += ` TEMPLATE ${client.escapeIdentifier(template)}`;
    if (options.icuLocale) statement += ` LOCALE_PROVIDER icu ICU_LOCALE ${client.escapeLiteral(options.icuLocale)}`;
    return client.query(statement);
  });
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

/**
 * Empties every table of the database's public schema but those in `keep` (a schema
 * version table, a lock row), restarting their ids: a fresh database for the next test in
 * a few milliseconds, where CREATE DATABASE costs up to a second on a busy machine.
 */
export async function emptyTables(url: string, keep: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT (tablename = ANY($1::text[]))", [[...keep]]);
    if (rows.length > 0) await client.query(`TRUNCATE ${rows.map((r) => client.escapeIdentifier(r.tablename)).join(', ')} RESTART IDENTITY`);
  } finally {
    await client.end().catch(() => {});
  }
}
