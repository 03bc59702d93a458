/**
 * What the PostgreSQL store promises beyond the shared contract (store-contract.test.ts):
 * several instances on one database — reservations atomic across them, status callbacks
 * and opt-out changes serialised per row, recovery that judges only this host's rows —
 * and the schema: versioned migrations applied once under an advisory lock, a newer
 * database refused; and the pool's handling of a connection dropped while idle.
 */
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { migrate, SchemaVersionError } from '../../src/store/postgres/migrate.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/pg-store.js';
import { createPool, describeDatabase, guardCheckedOut } from '../../src/store/postgres/pool.js';
import { STORE_MIGRATIONS } from '../../src/store/postgres/store-migrations.js';
import type { Ingest, LedgerKeys, LedgerSnapshot, ReservationRequest, WebhookEvent } from '../../src/store/store.js';
import { createTempDatabase, postgresMissing } from '../helpers/postgres.js';

const missing = await postgresMissing();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDatabase() {
  const database = await createTempDatabase();
  cleanups.push(() => database.drop());
  return database;
}

async function store(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const opened = await openPostgresStore(url, { poolSize: 5, ...options });
  cleanups.push(() => opened.close());
  return opened;
}

/** Plain SQL on the test database, to look at (or arrange) what the interface does not show. */
function sql(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  cleanups.push(() => pool.end());
  return pool;
}

const T0 = new Date('2026-12-01T12:00:00.000Z');
const keys = (to: string, bodyHash: string | null = null): LedgerKeys => ({
  to,
  bodyHash,
  duplicateSince: bodyHash ? new Date(T0.getTime() - 600_000) : null,
  hourStart: new Date('2026-12-01T12:00:00Z'),
  dayStart: new Date('2026-12-01T00:00:00Z'),
});
const request = (to: string, extra: Partial<ReservationRequest> = {}): ReservationRequest => ({
  kind: 'message',
  channel: 'sms',
  to,
  bodyHash: null,
  estimatedCost: 0.01,
  at: T0,
  sendAt: null,
  audit: { at: T0, tool: 'send_sms', arguments: { to }, clientName: null, sessionId: null },
  ...extra,
});

const statusItem = (sid: string, status: string, at: Date): { event: WebhookEvent; change: Ingest } => ({
  event: { kind: 'message_status', sid, status, idempotencyToken: null, receivedAt: at, params: {} },
  change: { kind: 'message_status', sid, status, errorCode: null, at },
});

describe.skipIf(missing !== undefined)('PostgreSQL store across instances', () => {
  /** 40 concurrent reservations, alternating between two instances (two pools, two instance ids) on one database. */
  async function race(decide: (ledger: LedgerSnapshot, i: number) => ReservationRequest, keysOf: (i: number) => LedgerKeys) {
    const { url } = await tempDatabase();
    const a = await store(url, { instanceId: 'instance-a' });
    const b = await store(url, { instanceId: 'instance-b' });
    const decided = { a: 0, b: 0 };
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).reserveSend(keysOf(i), (ledger) => {
          decided[i % 2 === 0 ? 'a' : 'b']++;
          return decide(ledger, i);
        }),
      ),
    );
    // Both instances decided (a race where one did everything would prove nothing).
    expect(decided).toEqual({ a: 20, b: 20 });
    const { rows } = await sql(url).query<{ owner_instance: string; n: number }>('SELECT owner_instance, count(*)::int AS n FROM send_reservations GROUP BY owner_instance ORDER BY owner_instance');
    return { taken: results.filter((r) => r.status === 'fulfilled').length, rows, total: rows.reduce((n, r) => n + r.n, 0) };
  }

  it('cannot both take the last slots of a message cap: 40 attempts for 10 slots reserve exactly 10', async () => {
    const { taken, total, rows } = await race(
      (ledger, i) => {
        if (ledger.totals.messagesThisHour >= 10) throw new Error('messages_per_hour');
        return request(`+1415555${2000 + i}`);
      },
      (i) => keys(`+1415555${2000 + i}`),
    );
    expect(taken).toBe(10);
    expect(total).toBe(10);
    expect(rows.every((r) => ['instance-a', 'instance-b'].includes(r.owner_instance))).toBe(true);
  });

  it('cannot overspend a budget: $0.10 at $0.01 a send reserves exactly 10', async () => {
    const { taken, total } = await race(
      (ledger, i) => {
        if (ledger.totals.spendToday + 0.01 > 0.1 + 1e-9) throw new Error('spend_per_day_usd');
        return request(`+1415555${3000 + i}`, { estimatedCost: 0.01 });
      },
      (i) => keys(`+1415555${3000 + i}`),
    );
    expect(taken).toBe(10);
    expect(total).toBe(10);
  });

  it('cannot send the same content twice within the duplicate window: 40 attempts reserve one', async () => {
    const { taken, total } = await race(
      (ledger) => {
        if (ledger.earlier) throw new Error('duplicate');
        return request('+14155554000', { bodyHash: 'same-body' });
      },
      () => keys('+14155554000', 'same-body'),
    );
    expect(taken).toBe(1);
    expect(total).toBe(1);
  });

  it('in a group commit, a reservation the database refuses fails alone: the others are reserved', async () => {
    const { url } = await tempDatabase();
    const s = await store(url);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        // The first goes alone; the other five arrive while it holds the lock and share one transaction.
        s.reserveSend(keys(`+1415555${5000 + i}`), () => request(`+1415555${5000 + i}`, i === 3 ? { kind: 'fax' as 'call' } : {})),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/check constraint/);
    expect((await sql(url).query('SELECT to_number FROM send_reservations ORDER BY to_number')).rows.map((r) => r.to_number)).toEqual(
      ['+14155555000', '+14155555001', '+14155555002', '+14155555004', '+14155555005'],
    );
  });

  it('status callbacks for one SID on two instances at once never move it backwards', async () => {
    const { url } = await tempDatabase();
    const a = await store(url, { instanceId: 'a' });
    const b = await store(url, { instanceId: 'b' });
    // Per SID, "delivered" reaches one instance while a late "sent" reaches the other, each
    // committed on its own, all SIDs at once; several rounds widen the race.
    for (let round = 0; round < 4; round++) {
      const roundSids = Array.from({ length: 30 }, (_, i) => `SM${String(round).padStart(2, '0')}${String(i).padStart(30, '0')}`);
      await a.ingestBatch(roundSids.map((s) => statusItem(s, 'queued', T0)));
      await Promise.all(roundSids.flatMap((s) => [a.ingestBatch([statusItem(s, 'delivered', T0)]), b.ingestBatch([statusItem(s, 'sent', T0)])]));
      const { rows } = await sql(url).query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM status_current WHERE sid = ANY($1::text[]) GROUP BY status', [roundSids]);
      expect(rows).toEqual([{ status: 'delivered', n: 30 }]);
    }
  });

  it('two batches that lock the same SIDs in opposite orders both commit: the deadlock victim is run again', async () => {
    const { url } = await tempDatabase();
    const a = await store(url, { instanceId: 'a' });
    const b = await store(url, { instanceId: 'b' });
    const pairs = Array.from({ length: 4 }, (_, i) => [`SM${'d'.repeat(31)}${i}`, `SM${'e'.repeat(31)}${i}`] as const);
    await a.ingestBatch(pairs.flat().map((s) => statusItem(s, 'queued', T0)));
    // A locks x then wants y; B locks y then wants x: PostgreSQL aborts one of each pair.
    const results = await Promise.allSettled(
      pairs.flatMap(([x, y]) => [
        a.ingestBatch([statusItem(x, 'sent', T0), statusItem(y, 'sent', T0)]),
        b.ingestBatch([statusItem(y, 'delivered', T0), statusItem(x, 'delivered', T0)]),
      ]),
    );
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const { rows } = await sql(url).query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM status_current GROUP BY status');
    expect(rows).toEqual([{ status: 'delivered', n: 8 }]);
  });

  it('an opt-out removed on one instance while another adds a channel ends as the two in either order would', async () => {
    const { url } = await tempDatabase();
    const a = await store(url, { instanceId: 'a' });
    const b = await store(url, { instanceId: 'b' });
    for (let round = 0; round < 3; round++) {
      const people = Array.from({ length: 20 }, (_, i) => `+1415556${round}${String(i).padStart(3, '0')}`);
      for (const person of people) await a.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'keyword', keyword: 'STOP' }, T0);
      // START (sms removed) and a do-not-call request (voice added) at once: voice remains, whichever ran first.
      await Promise.all(
        people.flatMap((person) => [
          a.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'keyword', keyword: 'START', channel: 'sms' }, T0),
          b.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, T0),
        ]),
      );
      for (const person of people) expect((await a.listOptOuts({ recipient: person, limit: 5 })).map((o) => o.channel), person).toEqual(['voice']);
    }
  });

  it("recoverInFlight judges only this host's rows, by their pid", async () => {
    const { url } = await tempDatabase();
    const here = await store(url, { host: 'host-a', instanceId: 'host-a:1' });
    const elsewhere = await store(url, { host: 'host-b', instanceId: 'host-b:1' });
    const mine = await here.reserveSend(keys('+14155555000'), () => request('+14155555000'));
    const theirs = await elsewhere.reserveSend(keys('+14155555001'), () => request('+14155555001'));
    const db = sql(url);
    expect((await db.query('SELECT owner_host, owner_instance, owner_pid FROM send_reservations ORDER BY id')).rows).toEqual([
      { owner_host: 'host-a', owner_instance: 'host-a:1', owner_pid: process.pid },
      { owner_host: 'host-b', owner_instance: 'host-b:1', owner_pid: process.pid },
    ]);
    // Another pid of this host: judged by isAlive.
    await db.query('UPDATE send_reservations SET owner_pid = 999999');
    const asked: number[] = [];
    expect(await here.recoverInFlight((pid) => (asked.push(pid), true), T0)).toEqual([]);
    expect(asked).toEqual([999999]);
    const recovered = await here.recoverInFlight(() => false, T0);
    expect(recovered.map((r) => r.id)).toEqual([mine.id]);
    // The other host's row is left to that host (its heartbeat), even though its pid looks dead here.
    const { rows } = await db.query<{ id: string; state: string }>('SELECT id, state FROM send_reservations ORDER BY id');
    expect(rows.map((r) => [Number(r.id), r.state])).toEqual([
      [mine.id, 'outcome_unknown'],
      [theirs.id, 'in_flight'],
    ]);
  });

  it("endOrphanRelaySessions ends this host's sessions of processes that are gone, nobody else's", async () => {
    const { url } = await tempDatabase();
    const alive = new Set<number>([424242]);
    const here = await store(url, { host: 'host-a', isAlive: (pid) => alive.has(pid) });
    const elsewhere = await store(url, { host: 'host-b' });
    for (const id of ['dead', 'live', 'ours']) await here.openRelaySession({ sessionId: id, to: '+14155556000', purpose: 'test', startedAt: T0 });
    await elsewhere.openRelaySession({ sessionId: 'other-host', to: '+14155556001', purpose: 'test', startedAt: T0 });
    const db = sql(url);
    await db.query("UPDATE relay_sessions SET owner_pid = 999999 WHERE session_id IN ('dead', 'other-host')");
    await db.query("UPDATE relay_sessions SET owner_pid = 424242 WHERE session_id = 'live'");
    const ended = await here.endOrphanRelaySessions(T0);
    expect(ended.map((s) => s.sessionId).sort()).toEqual(['dead', 'ours']);
    expect((await here.getRelaySession('live'))?.endedAt).toBeNull();
    expect((await here.getRelaySession('other-host'))?.endedAt).toBeNull();
    expect((await here.getRelaySession('dead'))?.outcome).toBe('server_restarted');
  });
});

describe.skipIf(missing !== undefined)('PostgreSQL store in a database with a linguistic collation', () => {
  it('lists flows and numbers in byte order, as SQLite compares text', async () => {
    const database = await createTempDatabase({ icuLocale: 'en-US' });
    cleanups.push(() => database.drop());
    const s = await store(database.url);
    for (const name of ['menu', 'Zebra', 'after-hours']) {
      await s.saveIvrFlow(name, { name }, T0);
      await s.setInboundCallFlow(`+1500555000${name.length}`, name, T0);
    }
    await s.setInboundCallFlow('+44 20', 'menu', T0);
    expect((await s.listIvrFlows()).map((f) => f.name)).toEqual(['Zebra', 'after-hours', 'menu']);
    expect((await s.listInboundCallFlows()).map((u) => u.number)).toEqual(['+150055500011', '+15005550004', '+15005550005', '+44 20']);
  });
});

describe.skipIf(missing !== undefined)('PostgreSQL schema migrations', () => {
  const pools = (url: string, n: number) =>
    Array.from({ length: n }, () => {
      const pool = createPool(url, { max: 2 });
      cleanups.push(() => pool.end());
      return pool;
    });

  it('two stores opening at once on an empty database apply each version once, and both open', async () => {
    const { url } = await tempDatabase();
    const [a, b] = await Promise.all([openPostgresStore(url, { poolSize: 2 }), openPostgresStore(url, { poolSize: 2 })]);
    cleanups.push(() => a.close(), () => b.close());
    const { rows } = await sql(url).query<{ component: string; version: number }>('SELECT component, version FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(STORE_MIGRATIONS.map((_, i) => ({ component: 'store', version: i + 1 })));
    expect(await a.listAudit({ limit: 1 })).toEqual([]);
  });

  it('two instances migrating at once run a slow migration once; the second finds it applied', async () => {
    const { url } = await tempDatabase();
    const migrations = ['CREATE TABLE applied (n int); INSERT INTO applied VALUES (1); SELECT pg_sleep(0.3)', 'INSERT INTO applied VALUES (2)'];
    const [a, b] = pools(url, 2);
    await Promise.all([migrate(a!, 'race', migrations), migrate(b!, 'race', migrations)]);
    expect((await sql(url).query('SELECT n FROM applied ORDER BY n')).rows).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('refuses a database a newer server migrated, saying what to do, and changes nothing', async () => {
    const { url } = await tempDatabase();
    const db = sql(url);
    await db.query('CREATE TABLE schema_migrations (component text, version int, applied_at timestamptz, PRIMARY KEY (component, version))');
    await db.query("INSERT INTO schema_migrations VALUES ('store', $1, now())", [STORE_MIGRATIONS.length + 1]);
    const opening = openPostgresStore(url, { poolSize: 1 });
    await expect(opening).rejects.toBeInstanceOf(SchemaVersionError);
    await expect(opening).rejects.toThrow(
      new RegExp(
        `version ${STORE_MIGRATIONS.length + 1} of the "store" schema, which is newer than this server knows .*: upgrade mcp-server-twilio, or point TWILIO_MCP_DATABASE_URL at another database\\.`,
      ),
    );
    const { rows } = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(rows.map((r) => r.tablename)).toEqual(['schema_migrations']);
  });

  it('keeps components apart, applies only what is new, and leaves a failed migration unapplied with the lock released', async () => {
    const { url } = await tempDatabase();
    const [pool] = pools(url, 1);
    await migrate(pool!, 'store', STORE_MIGRATIONS);
    await migrate(pool!, 'outbox', ['CREATE TABLE outbox_a (x int)']);
    await expect(migrate(pool!, 'outbox', ['CREATE TABLE outbox_a (x int)', 'CREATE TABLE outbox_b (y no_such_type)'])).rejects.toThrow(
      /Migration 2 of the "outbox" schema failed \(the database stays at version 1\): type "no_such_type" does not exist/,
    );
    // The lock went with the failed run: the fixed list applies (a held lock would hang here).
    await migrate(pool!, 'outbox', ['CREATE TABLE outbox_a (x int)', 'CREATE TABLE outbox_b (y int)']);
    const { rows } = await sql(url).query<{ component: string; version: number }>('SELECT component, version FROM schema_migrations ORDER BY component, version');
    expect(rows.map((r) => `${r.component}:${r.version}`)).toEqual(['outbox:1', 'outbox:2', ...STORE_MIGRATIONS.map((_, i) => `store:${i + 1}`)]);
    await expect(migrate(pool!, 'outbox', ['CREATE TABLE outbox_a (x int)'])).rejects.toThrow(/version 2 of the "outbox" schema/);
  });
});

describe.skipIf(missing !== undefined)('PostgreSQL pool', () => {
  it('survives a connection the server drops while it is idle, logging it without the password', async () => {
    const database = await tempDatabase();
    const url = new URL(database.url);
    url.username = 'postgres';
    url.password = 'not-a-real-password-42';
    const pool = createPool(url.toString(), { max: 1 });
    cleanups.push(() => pool.end());
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    try {
      await sql(database.url).query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      for (let i = 0; i < 200 && !lines.some((l) => l.includes('idle connection failed')); i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      spy.mockRestore();
    }
    const line = lines.find((l) => l.includes('idle connection failed'));
    expect(line, 'the pool logged the dropped connection').toBeDefined();
    expect(line).toContain(`127.0.0.1:5432/${database.name}`);
    expect(lines.join('')).not.toContain('not-a-real-password-42');
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(pool.options.max).toBe(1);
    const unbounded = createPool(database.url);
    cleanups.push(() => unbounded.end());
    expect(unbounded.options.max).toBe(10);
  });

  it('a connection that drops while checked out between two queries fails its next query, not the process', async () => {
    const database = await tempDatabase();
    const pool = createPool(database.url, { max: 1 });
    cleanups.push(() => pool.end());
    const client = await pool.connect();
    const listeners = client.listenerCount('error');
    const unguard = guardCheckedOut(client);
    try {
      // Watched through 'end', not 'error': a listener of the test's own would hide a missing guard.
      let dropped = false;
      client.once('end', () => (dropped = true));
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await sql(database.url).query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      for (let i = 0; i < 200 && !dropped; i++) await new Promise((r) => setTimeout(r, 10));
      expect(dropped).toBe(true);
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      unguard();
      expect(client.listenerCount('error')).toBe(listeners);
      client.release(true);
    }
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('describes a database without its credentials', () => {
    expect(describeDatabase('postgres://user:s3cret-pass@db.example.com:6543/twilio?sslmode=require')).toBe('db.example.com:6543/twilio');
    expect(describeDatabase('not a url')).not.toContain('not a url');
  });
});
