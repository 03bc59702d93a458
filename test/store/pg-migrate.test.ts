/**
 * PostgreSQL migrations (one numbered list per component, each version once even when
 * instances start together, a newer database refused) and the instances table (register,
 * heartbeat, live and dead by TTL).
 */
import { describe, expect, it } from 'vitest';
import { deadInstances, heartbeat, listInstances, liveInstances, migrateInstances, registerInstance } from '../../src/store/postgres/instances.js';
import { migrate, SchemaVersionError } from '../../src/store/postgres/migrate.js';
import { postgresMissing, tempDatabases } from '../helpers/pg-temp.js';

const noPostgres = await postgresMissing();
const databases = tempDatabases();

const versions = async (pool: ReturnType<typeof databases.pool>, component: string) =>
  (await pool.query<{ version: number }>('SELECT version FROM schema_migrations WHERE component = $1 ORDER BY version', [component])).rows.map((r) => r.version);

describe.skipIf(noPostgres)('PostgreSQL migrations', () => {
  it('applies each missing version once, in order, and again finds nothing to do', async () => {
    const pool = databases.pool(await databases.create());
    const list = ['CREATE TABLE a (x int)', 'ALTER TABLE a ADD COLUMN y int; CREATE TABLE b (z int)'];
    await migrate(pool, 'thing', list.slice(0, 1));
    expect(await versions(pool, 'thing')).toEqual([1]);
    await migrate(pool, 'thing', list);
    await migrate(pool, 'thing', list);
    expect(await versions(pool, 'thing')).toEqual([1, 2]);
    expect(await versions(pool, 'other')).toEqual([]); // components count separately
    await pool.query('INSERT INTO a (x, y) VALUES (1, 2)'); // both versions are there
  });

  it('instances starting at once on an empty database apply every version exactly once', async () => {
    const url = await databases.create();
    // A version that is not idempotent: running it twice would fail.
    const list = ['CREATE TABLE counter (n int)', 'INSERT INTO counter VALUES (1)'];
    await Promise.all(Array.from({ length: 4 }, () => migrate(databases.pool(url, { max: 2 }), 'thing', list)));
    const pool = databases.pool(url);
    expect(await versions(pool, 'thing')).toEqual([1, 2]);
    expect((await pool.query('SELECT count(*)::int AS n FROM counter')).rows[0].n).toBe(1);
  });

  it('refuses a database migrated by a newer server, changing nothing, and says what to do', async () => {
    const pool = databases.pool(await databases.create());
    await migrate(pool, 'thing', ['CREATE TABLE a (x int)', 'CREATE TABLE b (x int)', 'CREATE TABLE c (x int)']);
    const refusal = migrate(pool, 'thing', ['CREATE TABLE a (x int)', 'CREATE TABLE b (x int)']);
    await expect(refusal).rejects.toBeInstanceOf(SchemaVersionError);
    await expect(refusal).rejects.toThrow(/version 3 of the "thing" schema, which is newer than this server knows .*: upgrade mcp-server-twilio, or point TWILIO_MCP_DATABASE_URL at another database/);
    expect(await versions(pool, 'thing')).toEqual([1, 2, 3]);
  });

  it('a failing version leaves the database at the version before it', async () => {
    const pool = databases.pool(await databases.create());
    const refusal = migrate(pool, 'thing', ['CREATE TABLE a (x int)', 'CREATE TABLE half (x int); SELECT no_such_function()']);
    await expect(refusal).rejects.toThrow(/Migration 2 of the "thing" schema failed \(the database stays at version 1\)/);
    expect(await versions(pool, 'thing')).toEqual([1]);
    expect((await pool.query("SELECT to_regclass('half') AS t")).rows[0].t).toBeNull();
    // The lock went with the failed run: the next run is not blocked.
    await migrate(pool, 'thing', ['CREATE TABLE a (x int)', 'CREATE TABLE half (x int)']);
    expect(await versions(pool, 'thing')).toEqual([1, 2]);
  });
});

describe.skipIf(noPostgres)('server instances', () => {
  it('registers, heartbeats, and tells live from dead by the TTL', async () => {
    const pool = databases.pool(await databases.create());
    await migrateInstances(pool);
    await registerInstance(pool, 'a', { host: 'h1' });
    await registerInstance(pool, 'b', { host: 'h2' });
    await pool.query("UPDATE server_instances SET last_seen = now() - interval '10 seconds' WHERE id = 'b'");
    expect((await liveInstances(pool, 5000)).map((i) => i.id)).toEqual(['a']);
    expect((await deadInstances(pool, 5000)).map((i) => i.id)).toEqual(['b']);
    expect(await heartbeat(pool, 'b')).toBe(true);
    expect((await liveInstances(pool, 5000)).map((i) => i.id)).toEqual(['a', 'b']);
    expect(await heartbeat(pool, 'nobody')).toBe(false);
    const listed = await listInstances(pool, 5000);
    expect(listed.map((i) => [i.id, i.status, i.info])).toEqual([
      ['a', 'live', { host: 'h1' }],
      ['b', 'live', { host: 'h2' }],
    ]);
  });
});
