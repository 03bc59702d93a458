/**
 * Events between instances over LISTEN/NOTIFY (store/postgres/pg-notify.ts + EventHub.bridge):
 * what one instance publishes reaches the other once and is not echoed back; a listening
 * connection the server kills comes back and says "resync", and events flow again.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub, type TwilioEvent } from '../../src/services/events.js';
import { openPgNotify, type ClusterChannel } from '../../src/store/postgres/pg-notify.js';
import { postgresMissing, TEST_POSTGRES_URL } from '../helpers/postgres.js';

const missing = await postgresMissing();

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe.skipIf(missing !== undefined)('events across instances (LISTEN/NOTIFY)', () => {
  const channel = `mcp_test_${randomBytes(5).toString('hex')}`;
  let pool: pg.Pool;
  let a: ClusterChannel;
  let b: ClusterChannel;
  const hubA = new EventHub();
  const hubB = new EventHub();
  const seenA: TwilioEvent[] = [];
  const seenB: TwilioEvent[] = [];

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL, max: 2 });
    a = await openPgNotify(TEST_POSTGRES_URL, pool, { instanceId: 'instance-a', channel, reconnectMs: 50 });
    b = await openPgNotify(TEST_POSTGRES_URL, pool, { instanceId: 'instance-b', channel, reconnectMs: 50 });
    hubA.bridge(a);
    hubB.bridge(b);
    hubA.subscribe((e) => seenA.push(e));
    hubB.subscribe((e) => seenB.push(e));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pool?.end();
  });

  it('an inbound message published on A reaches B once, and A hears it once (not echoed)', async () => {
    const event: TwilioEvent = { kind: 'inbound_message', messageSid: 'SM1', from: '+14155550100', to: '+15005550006' };
    hubA.publish(event);
    await until(() => seenB.length === 1, 'B to hear A');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seenB).toEqual([event]);
    expect(seenA).toEqual([event]);
    hubB.publish({ kind: 'message_status', sid: 'SM1', status: 'delivered' });
    await until(() => seenA.length === 2, 'A to hear B');
    expect(seenA[1]).toEqual({ kind: 'message_status', sid: 'SM1', status: 'delivered' });
  });

  it('ignores notifications that are not events', async () => {
    const before = seenB.length;
    await pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ from: 'x', topic: 'twilio_event', payload: { kind: 'inbound_message' } })]);
    await pool.query('SELECT pg_notify($1, $2)', [channel, 'not json']);
    hubA.publish({ kind: 'call_status', sid: 'CA1', status: 'ringing' });
    await until(() => seenB.length === before + 1, 'the real event');
    expect(seenB.at(-1)).toEqual({ kind: 'call_status', sid: 'CA1', status: 'ringing' });
  });

  it('after the server drops the listening connection: B reconnects, says resync, and hears A again', async () => {
    const before = seenB.length;
    // Both listeners carry the same application name; kill every one except the pool's.
    await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mcp-server-twilio (listen)' AND datname = current_database()");
    await until(() => seenB.slice(before).some((e) => e.kind === 'resync'), 'resync on B');
    hubA.publish({ kind: 'message_status', sid: 'SM2', status: 'sent' });
    await until(() => seenB.some((e) => e.kind === 'message_status' && e.sid === 'SM2'), 'B to hear A after the reconnect');
  });
});
