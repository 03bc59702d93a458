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
      const why = `postgres tests skipped: cannot reach ${shown(TEST_POSTGRES_URL)} (${error instanceof Error ? error.message : String(error)}); set TWILIO_MCP_TEST_POSTGRES_URL`;
      if (process.env.TWILIO_MCP_REQUIRE_POSTGRES === '1') throw new Error(`${why}, and TWILIO_MCP_REQUIRE_POSTGRES=1 requires it`);
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

/** A new empty database with a random name on the test server; `drop()` removes it, closing what is still connected. */
export async function createTempDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `mcp_twilio_test_${randomBytes(6).toString('hex')}`;
  // Identifiers cannot be parameters: the name is ours (hex), and quoted besides.
  await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
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
