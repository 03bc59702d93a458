/**
 * A PostgreSQL database of the bench's own (created, then dropped), on the machine's server
 * (postgres://postgres@127.0.0.1:5432/postgres, or TWILIO_MCP_BENCH_POSTGRES_URL). Without
 * one, the PostgreSQL parts of the bench are skipped with a line saying why.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN = process.env.TWILIO_MCP_BENCH_POSTGRES_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function postgresReachable() {
  const client = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${new URL(ADMIN).host} is not reachable (${error.message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: ADMIN });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function withTempDatabase(fn) {
  const name = `mcp_twilio_bench_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
