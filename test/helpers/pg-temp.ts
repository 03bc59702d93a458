/**
 * Throwaway PostgreSQL databases for tests: each test creates its own under a random name
 * and drops it afterwards (with FORCE, so connections a test left behind, as a simulated
 * crash does, cannot keep it). Where PostgreSQL cannot be reached the tests are skipped with
 * one line; TWILIO_MCP_REQUIRE_POSTGRES=1 (CI) turns that into a failure instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';

/** A role that may create databases, on the server the tests use. */
export const POSTGRES_ADMIN_URL = process.env.TWILIO_MCP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let probed: Promise<string | undefined> | undefined;

/** Why PostgreSQL tests cannot run here (undefined: they can). Says so once per test file. */
export function postgresMissing(): Promise<string | undefined> {
  probed ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      const where = new URL(POSTGRES_ADMIN_URL);
      const why = `postgres tests skipped: no PostgreSQL at ${where.hostname}:${where.port || 5432} (${error instanceof Error ? error.message : String(error)}; set TWILIO_MCP_TEST_POSTGRES_URL)`;
      if (process.env.TWILIO_MCP_REQUIRE_POSTGRES === '1') throw new Error(`${why}, and TWILIO_MCP_REQUIRE_POSTGRES=1 requires it`);
      console.warn(why);
      return why;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probed;
}

/** The URL of database `name` on the admin URL's server. */
function urlOf(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Call once at the top of a test file: databases and pools made through it are gone after
 * each test. `prepare` (migrations, say) runs once, on a template every database is then
 * copied from: creating a database costs about a second here, migrating it again as much.
 */
export function tempDatabases(options: { prepare?: (url: string) => Promise<void> } = {}) {
  const names: string[] = [];
  const pools: pg.Pool[] = [];
  let template: Promise<string> | undefined;
  afterAll(async () => {
    if (!template) return;
    const name = await template.catch(() => undefined);
    if (name) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });
  afterEach(async () => {
    // A pool whose connections a test cut (a simulated crash) may never end cleanly: not waited for long.
    await Promise.all(pools.splice(0).map((p) => Promise.race([p.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())])));
    const dropping = names.splice(0);
    if (dropping.length > 0) await admin(async (c) => {
      for (const name of dropping) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  });
  return {
    /** A new empty database; returns its URL. */
    async create(): Promise<string> {
      const prepare = options.prepare;
      if (prepare) {
        template ??= (async () => {
          const name = `mcp_template_${randomBytes(6).toString('hex')}`;
          await admin((c) => c.query(`CREATE DATABASE "${name}"`));
          await prepare(urlOf(name));
          return name;
        })();
      }
      const from = template ? ` TEMPLATE "${await template}"` : '';
      const name = `mcp_test_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE "${name}"${from}`));
      names.push(name);
      return urlOf(name);
    },
    /** A pool on `url`, ended after the test. `applicationName` lets a test find its connections in pg_stat_activity. */
    pool(url: string, options: { max?: number; applicationName?: string } = {}): pg.Pool {
      const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: options.applicationName ?? 'mcp-server-twilio-test' });
      pool.on('error', () => undefined); // a connection a test terminated on purpose
      pools.push(pool);
      return pool;
    },
    /** Ends every connection of `applicationName` from the server side, as a crashed process's would end. */
    async terminate(url: string, applicationName: string): Promise<number> {
      const name = new URL(url).pathname.slice(1);
      return admin(async (c) => {
        const { rowCount } = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [name, applicationName]);
        return rowCount ?? 0;
      });
    },
  };
}
