/**
 * One contract for every Store adapter: the same behaviours run against SQLite and
 * PostgreSQL, so the two cannot drift. Only the Store interface is used here (no SQL, no
 * file layout); what an adapter does beyond it (PostgreSQL across instances, schema
 * versions) is in its own test file. PostgreSQL rows are skipped, in one line, when no
 * server is reachable (test/helpers/postgres.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/pg-store.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { statusAdvances } from '../../src/store/status-order.js';
import {
  BLOCKS_CALLS,
  BLOCKS_MESSAGES,
  type InboundMessage,
  type Ingest,
  type LedgerKeys,
  type LedgerSnapshot,
  type ReservationRequest,
  type Store,
  type WebhookEvent,
} from '../../src/store/store.js';
import { createTempDatabase, emptyTables, postgresMissing } from '../helpers/postgres.js';

const pgMissing = await postgresMissing();

/** A backend's way to make an empty store, and more handles on the same data (what another process would see). */
interface Opened {
  store: Store;
  another(): Promise<Store>;
}
type Backend = 'sqlite' | 'postgres';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * One database per file, migrated once and emptied before each test (CREATE DATABASE per
 * test costs up to a second on a busy machine). What is kept: the schema version and the
 * reservation lock's one row, which belong to the schema, not to the data.
 */
let database: Promise<{ url: string; drop(): Promise<void> }> | undefined;
const sharedDatabase = async () =>
  (
    await (database ??= (async () => {
      const created = await createTempDatabase();
      await (await openPostgresStore(created.url, { poolSize: 1 })).close();
      return created;
    })())
  ).url;
afterAll(async () => {
  if (database) await (await database).drop();
});

async function openBackend(backend: Backend): Promise<Opened> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-contract-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.sqlite');
    const open = async () => {
      const store = openSqliteStore(file);
      cleanups.push(async () => void (await store.close()));
      return store;
    };
    return { store: await open(), another: open };
  }
  const url = await sharedDatabase();
  await emptyTables(url, ['schema_migrations', 'reservation_lock']);
  const open = async () => {
    const store = await openPostgresStore(url, { poolSize: 3 });
    cleanups.push(() => store.close());
    return store;
  };
  return { store: await open(), another: open };
}

// ---- fixtures ---------------------------------------------------------------------------

const T0 = new Date('2026-12-01T12:00:00.000Z');
const HOUR = new Date('2026-12-01T12:00:00.000Z');
const DAY = new Date('2026-12-01T00:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let counter = 0;
const sid = (prefix: 'SM' | 'CA' | 'RE') => `${prefix}${(++counter).toString(16).padStart(32, '0')}`;

function statusItem(kind: 'message_status' | 'call_status', s: string, status: string, at: Date, options: { token?: string | null; errorCode?: number | null } = {}) {
  return {
    event: { kind, sid: s, status, idempotencyToken: options.token ?? null, receivedAt: at, params: { Sid: s, Status: status } } satisfies WebhookEvent,
    change: { kind, sid: s, status, errorCode: options.errorCode ?? null, at } satisfies Ingest,
  };
}

function inboundItem(
  m: Partial<Omit<InboundMessage, 'readAt'>> & { receivedAt: Date },
  options: { token?: string | null; optOuts?: Extract<Ingest, { kind: 'inbound_message' }>['optOuts'] } = {},
): { event: WebhookEvent; change: Ingest } {
  const message: Omit<InboundMessage, 'readAt'> = {
    messageSid: sid('SM'),
    from: '+14155550100',
    to: '+15005550006',
    body: 'hi',
    media: [],
    messagingServiceSid: null,
    channel: 'sms',
    profileName: null,
    keyword: null,
    ...m,
  };
  return {
    event: { kind: 'inbound_message', sid: message.messageSid, status: 'received', idempotencyToken: options.token ?? null, receivedAt: m.receivedAt, params: { Body: message.body } },
    change: { kind: 'inbound_message', message, optOuts: options.optOuts ?? [] },
  };
}

const keysFor = (to: string, bodyHash: string | null = null, duplicateSince: Date | null = bodyHash ? minutes(-10) : null): LedgerKeys => ({
  to,
  bodyHash,
  duplicateSince,
  hourStart: HOUR,
  dayStart: DAY,
});

function request(to: string, extra: Partial<ReservationRequest> = {}): ReservationRequest {
  return {
    kind: 'message',
    channel: 'sms',
    to,
    bodyHash: null,
    estimatedCost: 0.0083,
    at: T0,
    sendAt: null,
    from: '+15005550006',
    audit: { at: T0, tool: 'send_sms', arguments: { to, body: '[redacted: 5 chars]' }, clientName: 'test-client', sessionId: 's-1' },
    ...extra,
  };
}

/** Deterministic Fisher–Yates with a small LCG, so a failure names its permutation. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('Store contract: %s', (backend) => {
  const test = it.skipIf(backend === 'postgres' && pgMissing !== undefined);
  const open = () => openBackend(backend);

  describe('webhook events', () => {
    test('stores a fact once, by idempotency token or by SID + status', async () => {
      const { store } = await open();
      const s = sid('SM');
      expect(await store.ingestBatch([statusItem('message_status', s, 'sent', T0, { token: 't1' })])).toEqual([{ duplicate: false }]);
      expect(await store.ingestBatch([statusItem('message_status', s, 'sent', T0, { token: 't1' })])).toEqual([{ duplicate: true }]);
      expect(await store.ingestBatch([statusItem('message_status', s, 'sent', T0, { token: 't2' })])).toEqual([{ duplicate: true }]);
      expect(await store.ingestBatch([statusItem('message_status', s, 'delivered', T0, { token: 't1' })])).toEqual([{ duplicate: true }]);
      expect((await store.getMessageStatus(s))!.history).toHaveLength(1);
      // A message and a call may share nothing but the status string: not the same fact.
      expect(await store.ingestBatch([statusItem('call_status', s, 'sent', T0)])).toEqual([{ duplicate: false }]);
    });

    test('a repeat inside one batch is a duplicate; results come in order', async () => {
      const { store } = await open();
      const s = sid('SM');
      const results = await store.ingestBatch([
        statusItem('message_status', s, 'queued', T0),
        statusItem('message_status', s, 'sent', minutes(1), { token: 'tok-a' }),
        statusItem('message_status', s, 'queued', minutes(2)),
        statusItem('message_status', s, 'delivered', minutes(3), { token: 'tok-a' }),
        statusItem('message_status', s, 'delivered', minutes(4)),
      ]);
      expect(results.map((r) => r.duplicate)).toEqual([false, false, true, true, false]);
      expect((await store.getMessageStatus(s))!.history.map((h) => h.status)).toEqual(['queued', 'sent', 'delivered']);
      expect(await store.ingestBatch([])).toEqual([]);
    });

    test('a batch is all or nothing: one item that cannot be stored stores none of it', async () => {
      const { store } = await open();
      const good = statusItem('message_status', sid('SM'), 'sent', T0);
      const bad = inboundItem({ from: null as unknown as string, receivedAt: T0 });
      await expect(store.ingestBatch([good, bad])).rejects.toThrow();
      expect(await store.getMessageStatus(good.event.sid)).toBeUndefined();
      // Not remembered either: the same webhook again is new.
      expect(await store.ingestBatch([good])).toEqual([{ duplicate: false }]);
    });

    test('resolves only after the batch is committed: another handle sees it at once', async () => {
      const { store, another } = await open();
      const other = await another();
      const s = sid('SM');
      await store.ingestBatch([statusItem('message_status', s, 'sent', T0), inboundItem({ messageSid: 'SM_seen', receivedAt: T0 })]);
      expect((await other.getMessageStatus(s))?.current).toBe('sent');
      expect((await other.listInbound({ limit: 5 })).map((m) => m.messageSid)).toEqual(['SM_seen']);
    });

    test('recordings and conversation events are stored once', async () => {
      const { store } = await open();
      const recordingSid = sid('RE');
      const recording = (status: string, url: string | null, token: string | null = null): { event: WebhookEvent; change: Ingest } => ({
        event: { kind: 'recording', sid: recordingSid, status, idempotencyToken: token, receivedAt: T0, params: {} },
        change: { kind: 'recording', recordingSid, callSid: sid('CA'), status, url, durationSeconds: url ? 12 : null, at: T0 },
      });
      expect(await store.ingestBatch([recording('in-progress', null), recording('completed', 'https://api.twilio.com/r/1')])).toEqual([{ duplicate: false }, { duplicate: false }]);
      expect(await store.ingestBatch([recording('completed', 'https://api.twilio.com/r/1')])).toEqual([{ duplicate: true }]);
      const conversation: { event: WebhookEvent; change: Ingest } = {
        event: { kind: 'conversation_event', sid: `CH${'1'.repeat(32)}`, status: 'onParticipantAdded', idempotencyToken: 'conv-1', receivedAt: T0, params: { EventType: 'onParticipantAdded' } },
        change: { kind: 'conversation_event' },
      };
      expect(await store.ingestBatch([conversation])).toEqual([{ duplicate: false }]);
      expect(await store.ingestBatch([{ ...conversation, event: { ...conversation.event, status: 'onConversationUpdated' } }])).toEqual([{ duplicate: true }]);
    });
  });

  describe('status ordering', () => {
    const cases: Array<{ kind: 'message_status' | 'call_status'; sequence: string[]; final: string }> = [
      { kind: 'message_status', sequence: ['queued', 'sending', 'sent', 'delivered'], final: 'delivered' },
      { kind: 'message_status', sequence: ['accepted', 'queued', 'sending', 'sent', 'delivered', 'read'], final: 'read' },
      { kind: 'message_status', sequence: ['scheduled', 'queued', 'sending', 'sent', 'undelivered'], final: 'undelivered' },
      { kind: 'call_status', sequence: ['queued', 'initiated', 'ringing', 'in-progress', 'completed'], final: 'completed' },
      { kind: 'call_status', sequence: ['queued', 'ringing', 'no-answer'], final: 'no-answer' },
    ];

    test('ends in the right status whatever order the callbacks arrive in (seeded permutations, one batch per callback)', async () => {
      const { store } = await open();
      for (const { kind, sequence, final } of cases) {
        for (let seed = 1; seed <= 12; seed++) {
          const s = sid(kind === 'call_status' ? 'CA' : 'SM');
          const order = shuffled(sequence, seed);
          for (const [i, status] of order.entries()) {
            await store.ingestBatch([statusItem(kind, s, status, minutes(i), { errorCode: status === 'undelivered' ? 30003 : null })]);
          }
          const record = kind === 'call_status' ? await store.getCallStatus(s) : await store.getMessageStatus(s);
          expect(record?.current, `${kind} seed ${seed}: ${order.join(' → ')}`).toBe(final);
          expect(record?.history.map((h) => h.status)).toEqual(order);
          expect(record?.history.filter((h) => h.applied).at(-1)?.status).toBe(final);
          expect(record?.updatedAt.getTime()).toBe(minutes(order.indexOf(final)).getTime());
        }
      }
      // The two kinds are separate: a call SID's status is not a message's.
      expect(await store.getMessageStatus(sid('CA'))).toBeUndefined();
    });

    test('keeps the error code of a failure, and a failed message is never "read"', async () => {
      const { store } = await open();
      const s = sid('SM');
      await store.ingestBatch([
        statusItem('message_status', s, 'undelivered', T0, { errorCode: 30006 }),
        statusItem('message_status', s, 'read', minutes(1)),
        statusItem('message_status', s, 'sent', minutes(2)),
      ]);
      const record = (await store.getMessageStatus(s))!;
      expect(record).toMatchObject({ sid: s, current: 'undelivered', errorCode: 30006 });
      expect(record.updatedAt.toISOString()).toBe(T0.toISOString());
      expect(record.history.map((h) => [h.status, h.applied, h.errorCode])).toEqual([['undelivered', true, 30006], ['read', false, null], ['sent', false, null]]);
      expect(record.history.map((h) => h.at.toISOString())).toEqual([T0, minutes(1), minutes(2)].map((d) => d.toISOString()));
      // A later status without an error code keeps the code already known.
      const t = sid('SM');
      await store.ingestBatch([statusItem('message_status', t, 'sent', T0, { errorCode: 30001 }), statusItem('message_status', t, 'delivered', minutes(1))]);
      expect(await store.getMessageStatus(t)).toMatchObject({ current: 'delivered', errorCode: 30001 });
    });

    test('agrees with status-order.ts over random callback sequences', async () => {
      const { store } = await open();
      const all = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'some-new-status'];
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(fc.constantFrom(...all), { minLength: 1, maxLength: all.length }), async (order) => {
          const s = sid('SM');
          for (const [i, status] of order.entries()) await store.ingestBatch([statusItem('message_status', s, status, minutes(i))]);
          let expected: string | undefined;
          for (const status of order) if (statusAdvances('message', expected, status)) expected = status;
          expect((await store.getMessageStatus(s))?.current).toBe(expected);
        }),
        { seed: 11, numRuns: 40 },
      );
    });
  });

  describe('inbox', () => {
    test('lists newest first with from/to/since/unread filters and a limit; marks read once', async () => {
      const { store } = await open();
      await store.ingestBatch([
        inboundItem({ messageSid: 'SM_a', from: '+14155550101', body: 'a', receivedAt: minutes(1) }),
        inboundItem({ messageSid: 'SM_b', from: '+14155550102', body: 'b', receivedAt: minutes(2) }),
        inboundItem({ messageSid: 'SM_c', from: '+14155550101', to: '+15005550007', body: 'c', receivedAt: minutes(3) }),
        inboundItem({ messageSid: 'SM_d', from: 'whatsapp:+14155550103', to: 'whatsapp:+15005550006', channel: 'whatsapp', profileName: 'Ada', body: 'd', receivedAt: minutes(4) }),
        // Received in the same millisecond as d: the later arrival is listed first.
        inboundItem({ messageSid: 'SM_e', from: '+14155550104', body: 'e', messagingServiceSid: `MG${'2'.repeat(32)}`, keyword: 'HELP', receivedAt: minutes(4) }),
      ]);
      const bodies = async (filter: Parameters<Store['listInbound']>[0]) => (await store.listInbound(filter)).map((m) => m.body);
      expect(await bodies({ limit: 10 })).toEqual(['e', 'd', 'c', 'b', 'a']);
      expect(await bodies({ limit: 2 })).toEqual(['e', 'd']);
      expect(await bodies({ from: '+14155550101', limit: 10 })).toEqual(['c', 'a']);
      expect(await bodies({ to: '+15005550007', limit: 10 })).toEqual(['c']);
      expect(await bodies({ since: minutes(2), limit: 10 })).toEqual(['e', 'd', 'c', 'b']);
      expect(await bodies({ from: '+14155550101', since: minutes(2), limit: 10 })).toEqual(['c']);
      expect((await store.listInbound({ from: 'whatsapp:+14155550103', limit: 1 }))[0]).toEqual({
        messageSid: 'SM_d', from: 'whatsapp:+14155550103', to: 'whatsapp:+15005550006', body: 'd', media: [], messagingServiceSid: null,
        channel: 'whatsapp', profileName: 'Ada', keyword: null, receivedAt: minutes(4), readAt: null,
      });
      expect((await store.listInbound({ from: '+14155550104', limit: 1 }))[0]).toMatchObject({ messagingServiceSid: `MG${'2'.repeat(32)}`, keyword: 'HELP' });

      expect(await store.markRead(['SM_a', 'SM_c', 'SM_missing'], minutes(10))).toBe(2);
      expect(await store.markRead(['SM_a'], minutes(11))).toBe(0);
      expect(await store.markRead([], minutes(11))).toBe(0);
      expect(await bodies({ unreadOnly: true, limit: 10 })).toEqual(['e', 'd', 'b']);
      expect(await bodies({ unreadOnly: true, from: '+14155550101', limit: 10 })).toEqual([]);
      expect((await store.listInbound({ from: '+14155550101', limit: 10 })).map((m) => m.readAt?.toISOString())).toEqual([minutes(10).toISOString(), minutes(10).toISOString()]);
    });

    test('finds the oldest unread reply from a sender at or after a time', async () => {
      const { store } = await open();
      await store.ingestBatch([
        inboundItem({ messageSid: 'SM_old', body: 'before', receivedAt: minutes(-1) }),
        inboundItem({ messageSid: 'SM_1', body: 'first', receivedAt: T0 }),
        inboundItem({ messageSid: 'SM_2', body: 'second', receivedAt: minutes(1) }),
        inboundItem({ messageSid: 'SM_other', from: '+14155550999', body: 'other', receivedAt: minutes(2) }),
      ]);
      expect((await store.findUnreadFrom('+14155550100', T0))?.body).toBe('first');
      await store.markRead(['SM_1'], minutes(3));
      expect((await store.findUnreadFrom('+14155550100', T0))?.body).toBe('second');
      await store.markRead(['SM_2'], minutes(3));
      expect(await store.findUnreadFrom('+14155550100', T0)).toBeUndefined();
      expect((await store.findUnreadFrom('+14155550100', minutes(-5)))?.body).toBe('before');
    });

    test('keeps media and the first copy of a message SID', async () => {
      const { store } = await open();
      const media = [{ url: 'https://api.twilio.com/m/1', contentType: 'image/jpeg' }, { url: 'https://api.twilio.com/m/2', contentType: null }];
      const first = inboundItem({ messageSid: 'SM_media', body: 'pic', media, channel: 'mms', receivedAt: T0 });
      expect(await store.ingestBatch([first])).toEqual([{ duplicate: false }]);
      // Same SID, new token: a second delivery of the same message, not a second message.
      const again = { ...first, event: { ...first.event, idempotencyToken: 'another' } };
      expect(await store.ingestBatch([again])).toEqual([{ duplicate: true }]);
      expect(await store.listInbound({ limit: 10 })).toEqual([expect.objectContaining({ body: 'pic', media, channel: 'mms' })]);
    });

    test('counts inbound messages in [start, end)', async () => {
      const { store } = await open();
      await store.ingestBatch([0, 1, 2, 3].map((i) => inboundItem({ receivedAt: minutes(i) })));
      expect(await store.countInboundBetween(minutes(1), minutes(3))).toBe(2);
      expect(await store.countInboundBetween(minutes(0), minutes(10))).toBe(4);
      expect(await store.countInboundBetween(minutes(10), minutes(20))).toBe(0);
    });
  });

  describe('opt-outs', () => {
    const service = `MG${'1'.repeat(32)}`;

    test('filters by sender and recipient, keeps the first row of an opt-out, and audits every change newest first', async () => {
      const { store } = await open();
      expect(await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'STOP' }, minutes(1))).toBe(true);
      await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: '+14155550200', source: 'keyword', keyword: 'STOP' }, minutes(1));
      await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550201', source: 'manual', reason: 'asked by phone' }, minutes(2));
      expect(await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550201', source: 'keyword', keyword: 'QUIT' }, minutes(3))).toBe(false);
      expect((await store.listOptOuts({ sender: service, limit: 10 })).map((o) => o.recipient)).toEqual(['+14155550201', '+14155550200']);
      expect((await store.listOptOuts({ sender: service, limit: 1 })).map((o) => o.recipient)).toEqual(['+14155550201']);
      expect((await store.listOptOuts({ recipient: '+14155550200', limit: 10 })).map((o) => o.sender).sort()).toEqual(['+15005550006', service]);
      expect(await store.listOptOuts({ sender: service, recipient: '+14155550201', limit: 10 })).toEqual([
        { sender: service, recipient: '+14155550201', channel: 'sms', source: 'manual', keyword: null, reason: 'asked by phone', createdAt: minutes(2) },
      ]);
      expect(await store.listOptOuts({ limit: 10 })).toHaveLength(3);

      expect(await store.applyOptOut({ action: 'remove', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'START' }, minutes(4))).toBe(true);
      expect(await store.applyOptOut({ action: 'remove', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'START' }, minutes(5))).toBe(false);
      expect(await store.isOptedOut([service], '+14155550200')).toBeUndefined();
      expect((await store.isOptedOut([service, '+15005550006'], '+14155550200'))?.sender).toBe('+15005550006');

      const audit = await store.listOptOutAudit({ recipient: '+14155550200', limit: 10 });
      expect(audit.map((a) => [a.action, a.sender === service ? 'service' : 'number', a.keyword])).toEqual([
        ['remove', 'service', 'START'],
        ['remove', 'service', 'START'],
        ['add', 'number', 'STOP'],
        ['add', 'service', 'STOP'],
      ]);
      expect((await store.listOptOutAudit({ sender: service, limit: 2 })).map((a) => a.at.toISOString())).toEqual([minutes(5).toISOString(), minutes(4).toISOString()]);
      expect((await store.listOptOutAudit({ sender: service, recipient: '+14155550201', limit: 10 })).map((a) => [a.source, a.keyword, a.reason])).toEqual([
        ['keyword', 'QUIT', null],
        ['manual', null, 'asked by phone'],
      ]);
      expect(await store.listOptOutAudit({ limit: 100 })).toHaveLength(6);
    });

    test('isOptedOut: the senders in the order given, then every-sender ("*"), by channel', async () => {
      const { store } = await open();
      const person = '+14155550300';
      await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', reason: 'all senders' }, T0);
      await store.applyOptOut({ action: 'add', sender: '+15005550007', recipient: person, source: 'keyword', keyword: 'STOP' }, minutes(1));
      await store.applyOptOut({ action: 'add', sender: service, recipient: person, source: 'keyword', keyword: 'STOPALL' }, minutes(2));
      expect((await store.isOptedOut([service, '+15005550007'], person))?.keyword).toBe('STOPALL');
      expect((await store.isOptedOut(['+15005550007', service], person))?.keyword).toBe('STOP');
      expect((await store.isOptedOut(['+15005550999'], person))?.sender).toBe('*');
      expect((await store.isOptedOut([], person))?.sender).toBe('*');
      expect(await store.isOptedOut(['+15005550007'], '+14155550399')).toBeUndefined();
      // A WhatsApp recipient is its own key.
      expect(await store.isOptedOut(['+15005550007'], `whatsapp:${person}`)).toBeUndefined();
      // An SMS opt-out does not stop calls.
      expect(await store.isOptedOut(['+15005550007'], person, BLOCKS_CALLS)).toBeUndefined();
    });

    test('findAnyOptOut: the first recipient given that any sender has an opt-out of, its oldest, by channel', async () => {
      const { store } = await open();
      await store.applyOptOut({ action: 'add', sender: '+15005550007', recipient: '+14155550401', source: 'keyword', keyword: 'STOP' }, minutes(2));
      await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550401', source: 'keyword', keyword: 'END' }, minutes(1));
      await store.applyOptOut({ action: 'add', sender: '*', recipient: 'whatsapp:+14155550402', source: 'keyword', keyword: 'STOP' }, minutes(3));
      await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550403', source: 'manual', channel: 'voice' }, minutes(4));
      expect((await store.findAnyOptOut(['+14155550401']))?.keyword).toBe('END');
      expect((await store.findAnyOptOut(['whatsapp:+14155550402', '+14155550401']))?.recipient).toBe('whatsapp:+14155550402');
      expect((await store.findAnyOptOut(['+14155550400', '+14155550401']))?.recipient).toBe('+14155550401');
      expect(await store.findAnyOptOut(['+14155550403'])).toBeUndefined();
      expect((await store.findAnyOptOut(['+14155550403'], BLOCKS_CALLS))?.channel).toBe('voice');
      expect(await store.findAnyOptOut(['+14155550401'], BLOCKS_CALLS)).toBeUndefined();
      expect(await store.findAnyOptOut([])).toBeUndefined();
    });

    test('channels combine as sets: sms + voice = all; all − sms = voice; removing all deletes; every change audited', async () => {
      const { store } = await open();
      const person = '+14155550900';
      expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, T0)).toBe(true);
      expect(await store.findAnyOptOut([person], BLOCKS_MESSAGES)).toBeUndefined();
      expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'keyword', keyword: 'STOP', channel: 'sms' }, minutes(1))).toBe(true);
      // The original row stays (its source and time); only its channel grows.
      expect(await store.listOptOuts({ recipient: person, limit: 5 })).toEqual([expect.objectContaining({ channel: 'all', source: 'manual', keyword: null, createdAt: T0 })]);
      expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, minutes(2))).toBe(false);
      expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'all' }, minutes(2))).toBe(false);
      // START (an SMS opt-in) lifts the SMS part only: the do-not-call request stays.
      expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'keyword', keyword: 'START', channel: 'sms' }, minutes(3))).toBe(true);
      expect((await store.listOptOuts({ recipient: person, limit: 5 })).map((o) => o.channel)).toEqual(['voice']);
      expect((await store.findAnyOptOut([person], BLOCKS_CALLS))?.channel).toBe('voice');
      expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'sms' }, minutes(4))).toBe(false);
      // Adding sms to voice makes all again; removing voice from all leaves sms.
      expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'keyword', keyword: 'STOP' }, minutes(5))).toBe(true);
      expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, minutes(6))).toBe(true);
      expect((await store.listOptOuts({ recipient: person, limit: 5 })).map((o) => o.channel)).toEqual(['sms']);
      expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'all' }, minutes(7))).toBe(true);
      expect(await store.listOptOuts({ recipient: person, limit: 5 })).toEqual([]);
      expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'all' }, minutes(8))).toBe(false);
      // An "all" opt-out added fresh blocks both.
      await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'all' }, minutes(9));
      expect(await store.isOptedOut([], person, BLOCKS_MESSAGES)).toBeDefined();
      expect(await store.isOptedOut([], person, BLOCKS_CALLS)).toBeDefined();
      expect((await store.listOptOutAudit({ recipient: person, limit: 20 })).map((e) => `${e.action}:${e.channel}`).reverse()).toEqual([
        'add:voice', 'add:sms', 'add:voice', 'add:all', 'remove:sms', 'remove:sms', 'add:sms', 'remove:voice', 'remove:all', 'remove:all', 'add:all',
      ]);
    });

    test('an inbound STOP opts out in the same batch as the message; a replay changes and audits nothing', async () => {
      const { store } = await open();
      const from = '+14155550800';
      const stop = inboundItem(
        { from, body: 'STOP', keyword: 'STOP', receivedAt: minutes(1) },
        {
          token: 'stop-1',
          optOuts: [
            { action: 'add', sender: service, recipient: from, source: 'keyword', keyword: 'STOP' },
            { action: 'add', sender: '+15005550006', recipient: from, source: 'keyword', keyword: 'STOP' },
          ],
        },
      );
      expect(await store.ingestBatch([stop])).toEqual([{ duplicate: false }]);
      expect(await store.ingestBatch([stop])).toEqual([{ duplicate: true }]);
      // The opt-out is dated when the message was received.
      expect((await store.isOptedOut([service], from))?.createdAt).toEqual(minutes(1));
      expect(await store.listOptOutAudit({ recipient: from, limit: 10 })).toHaveLength(2);
      // A failed batch takes its opt-outs with it.
      const start = inboundItem({ from, body: 'START', keyword: 'START', receivedAt: minutes(2) }, { optOuts: [{ action: 'remove', sender: service, recipient: from, source: 'keyword', keyword: 'START' }] });
      await expect(store.ingestBatch([start, inboundItem({ to: null as unknown as string, receivedAt: minutes(2) })])).rejects.toThrow();
      expect(await store.isOptedOut([service], from)).toBeDefined();
      expect(await store.listOptOutAudit({ recipient: from, limit: 10 })).toHaveLength(2);
    });

    test('lists opt-out changes in [start, end), oldest first', async () => {
      const { store } = await open();
      await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550500', source: 'manual' }, minutes(1));
      await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550501', source: 'keyword', keyword: 'STOP' }, minutes(2));
      await store.applyOptOut({ action: 'remove', sender: '*', recipient: '+14155550500', source: 'manual', reason: 're-consent' }, minutes(3));
      expect((await store.optOutChangesBetween(minutes(1), minutes(3))).map((e) => `${e.action}:${e.recipient}`)).toEqual(['add:+14155550500', 'add:+14155550501']);
      expect(await store.optOutChangesBetween(minutes(3), minutes(4))).toEqual([
        { action: 'remove', sender: '*', recipient: '+14155550500', channel: 'sms', source: 'manual', keyword: null, reason: 're-consent', at: minutes(3) },
      ]);
    });
  });

  describe('the send ledger', () => {
    test('recordSend counts in the hour and day windows; findRecentSend and hasContacted see it', async () => {
      const { store } = await open();
      await store.recordSend({ kind: 'message', to: '+14155550600', bodyHash: 'h1', sid: 'SM_early', estimatedCost: 0.01, at: new Date('2026-12-01T09:30:00Z') });
      await store.recordSend({ kind: 'message', to: '+14155550600', bodyHash: 'h1', sid: 'SM_now', estimatedCost: 0.02, at: minutes(5) });
      await store.recordSend({ kind: 'call', to: '+14155550601', bodyHash: null, sid: 'CA_now', estimatedCost: 0.25, at: minutes(6) });
      await store.recordSend({ kind: 'message', to: '+14155550602', bodyHash: 'h2', sid: 'SM_yesterday', estimatedCost: 1, at: new Date('2026-11-30T23:59:59Z') });
      const totals = await store.sendTotals(HOUR, DAY);
      expect(totals).toMatchObject({ messagesThisHour: 1, messagesToday: 2, callsToday: 1 });
      expect(totals.spendToday).toBeCloseTo(0.28, 10);
      expect(await store.sendTotals(minutes(60), minutes(60))).toEqual({ messagesThisHour: 0, messagesToday: 0, callsToday: 0, spendToday: 0 });

      expect(await store.findRecentSend('+14155550600', 'h1', DAY)).toMatchObject({ sid: 'SM_now', state: 'sent', at: minutes(5) });
      expect(typeof (await store.findRecentSend('+14155550600', 'h1', DAY))?.reservationId).toBe('number');
      expect(await store.findRecentSend('+14155550600', 'h1', minutes(6))).toBeUndefined();
      expect(await store.findRecentSend('+14155550600', 'h2', DAY)).toBeUndefined();
      expect(await store.hasContacted('+14155550602')).toBe(true);
      expect(await store.hasContacted('+14155550699')).toBe(false);
    });

    test('reserveSend hands decide the ledger of the keys, and reserves what it returns with its audit intent', async () => {
      const { store, another } = await open();
      const to = '+14155550610';
      await store.recordSend({ kind: 'message', to, bodyHash: 'hash-a', sid: 'SM_before', estimatedCost: 0.01, at: minutes(-5) });
      let seen: LedgerSnapshot | undefined;
      const reservation = await store.reserveSend(keysFor(to, 'hash-a'), (ledger) => {
        seen = ledger;
        return request(to, { bodyHash: 'hash-a', sendAt: minutes(30), channel: 'whatsapp' });
      });
      expect(seen).toMatchObject({
        totals: { messagesThisHour: 0, messagesToday: 1, callsToday: 0, spendToday: 0.01 },
        earlier: { sid: 'SM_before', state: 'sent', at: minutes(-5) },
        contacted: true,
      });
      expect(reservation).toMatchObject({
        kind: 'message', channel: 'whatsapp', to, bodyHash: 'hash-a', sid: null, state: 'in_flight', estimatedCost: 0.0083, at: T0, sendAt: minutes(30), error: null,
      });
      expect(typeof reservation.id).toBe('number');
      expect(typeof reservation.auditId).toBe('number');
      // On disk when the promise resolves: another handle sees the reservation and the intent.
      const other = await another();
      expect(await other.readLedger(keysFor(to, 'hash-a'))).toMatchObject({
        totals: { messagesThisHour: 1, messagesToday: 2 },
        earlier: { sid: null, state: 'in_flight', reservationId: reservation.id },
        contacted: true,
      });
      expect(await other.listAudit({ limit: 5 })).toEqual([
        { at: T0, tool: 'send_sms', arguments: { to, body: '[redacted: 5 chars]' }, resultSid: null, error: null, clientName: 'test-client', sessionId: 's-1', outcome: 'in_flight' },
      ]);
    });

    test('a refusal (decide throws) reserves nothing and writes no audit row; the error passes through as thrown', async () => {
      const { store } = await open();
      const refusal = new Error('cap reached');
      await expect(store.reserveSend(keysFor('+14155550620'), () => { throw refusal; })).rejects.toBe(refusal);
      expect(await store.sendTotals(DAY, DAY)).toMatchObject({ messagesToday: 0 });
      expect(await store.listAudit({ limit: 5 })).toEqual([]);
      expect(await store.hasContacted('+14155550620')).toBe(false);
    });

    test('the snapshot: first contact, no duplicate check without a hash or a window, calls counted apart', async () => {
      const { store } = await open();
      const to = '+14155550630';
      expect(await store.readLedger(keysFor(to, 'h'))).toEqual({ totals: { messagesThisHour: 0, messagesToday: 0, callsToday: 0, spendToday: 0 }, earlier: undefined, contacted: false });
      const call = await store.reserveSend(keysFor(to), () => request(to, { kind: 'call', channel: 'voice', bodyHash: 'twiml-hash', estimatedCost: 0.3 }));
      expect(call.kind).toBe('call');
      const ledger = await store.readLedger(keysFor(to, 'twiml-hash'));
      expect(ledger.totals).toEqual({ messagesThisHour: 0, messagesToday: 0, callsToday: 1, spendToday: 0.3 });
      expect(ledger.earlier).toMatchObject({ reservationId: call.id, state: 'in_flight' });
      expect(ledger.contacted).toBe(true);
      expect((await store.readLedger(keysFor(to, null))).earlier).toBeUndefined();
      expect((await store.readLedger({ ...keysFor(to, 'twiml-hash'), duplicateSince: null })).earlier).toBeUndefined();
      expect((await store.readLedger(keysFor(to, 'twiml-hash', minutes(1)))).earlier).toBeUndefined();
      expect((await store.readLedger(keysFor('+14155550631', 'twiml-hash'))).earlier).toBeUndefined();
    });

    test('concurrent reservations against a cap of 3: exactly 3 are taken, each decision sees the ones before it', async () => {
      const { store } = await open();
      const attempts = Array.from({ length: 20 }, (_, i) =>
        store.reserveSend(keysFor(`+1415555${String(1000 + i)}`), (ledger) => {
          if (ledger.totals.messagesThisHour >= 3) throw new Error('cap');
          return request(`+1415555${String(1000 + i)}`);
        }),
      );
      const results = await Promise.allSettled(attempts);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as Error).message)).toEqual(Array(17).fill('cap'));
      expect((await store.sendTotals(HOUR, DAY)).messagesThisHour).toBe(3);
      expect(await store.listAudit({ limit: 50 })).toHaveLength(3);
    });

    test('concurrent reservations of the same content: one is taken, the others see it as a duplicate', async () => {
      const { store } = await open();
      const to = '+14155550640';
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          store.reserveSend(keysFor(to, 'same'), (ledger) => {
            if (ledger.earlier) throw new Error(`duplicate of #${ledger.earlier.reservationId}`);
            return request(to, { bodyHash: 'same' });
          }),
        ),
      );
      const taken = results.filter((r) => r.status === 'fulfilled');
      expect(taken).toHaveLength(1);
      const id = (taken[0] as PromiseFulfilledResult<{ id: number }>).value.id;
      for (const r of results.filter((r) => r.status === 'rejected')) expect(((r as PromiseRejectedResult).reason as Error).message).toBe(`duplicate of #${id}`);
    });

    test('settling: sent records the SID on the reservation and its audit row; released stops counting; unknown keeps counting', async () => {
      const { store } = await open();
      const reserve = (to: string, bodyHash: string) => store.reserveSend(keysFor(to, bodyHash), () => request(to, { bodyHash }));
      const sent = await reserve('+14155550650', 'a');
      const released = await reserve('+14155550651', 'b');
      const unknown = await reserve('+14155550652', 'c');
      await store.settleSend(sent.id, { state: 'sent', sid: 'SM_settled', at: minutes(1) });
      await store.settleSend(released.id, { state: 'released', error: 'Twilio refused (21211)', at: minutes(1) });
      await store.settleSend(unknown.id, { state: 'outcome_unknown', error: 'Twilio did not answer in time.', at: minutes(1) });

      expect(await store.findReservationBySid('SM_settled')).toMatchObject({ id: sent.id, state: 'sent', sid: 'SM_settled', error: null, auditId: sent.auditId });
      expect(await store.findReservationBySid('SM_nothing')).toBeUndefined();
      const totals = await store.sendTotals(HOUR, DAY);
      expect(totals.messagesToday).toBe(2);
      expect(totals.spendToday).toBeCloseTo(2 * 0.0083, 10);
      expect(await store.hasContacted('+14155550651')).toBe(false);
      expect(await store.findRecentSend('+14155550651', 'b', DAY)).toBeUndefined();
      expect(await store.findRecentSend('+14155550652', 'c', DAY)).toMatchObject({ state: 'outcome_unknown', sid: null, reservationId: unknown.id });
      expect((await store.listAudit({ limit: 5 })).map((a) => [a.outcome, a.resultSid, a.error])).toEqual([
        ['outcome_unknown', null, 'Twilio did not answer in time.'],
        ['released', null, 'Twilio refused (21211)'],
        ['sent', 'SM_settled', null],
      ]);
      // The latest reservation that produced a SID (one SID settles several recipients of one send).
      const second = await reserve('+14155550653', 'd');
      await store.settleSend(second.id, { state: 'sent', sid: 'SM_settled', at: minutes(2) });
      expect((await store.findReservationBySid('SM_settled'))?.id).toBe(second.id);
    });

    test('recoverInFlight: sends left in flight by a process that is gone become outcome_unknown, once, and still count', async () => {
      const { store, another } = await open();
      const to = '+14155550660';
      const inFlight = await store.reserveSend(keysFor(to, 'x'), () => request(to, { bodyHash: 'x' }));
      const done = await store.reserveSend(keysFor('+14155550661'), () => request('+14155550661'));
      await store.settleSend(done.id, { state: 'sent', sid: 'SM_done', at: T0 });
      // What a new process finds.
      const next = await another();
      const orphans = await next.recoverInFlight(() => false, minutes(1));
      expect(orphans).toHaveLength(1);
      expect(orphans[0]).toMatchObject({ id: inFlight.id, state: 'outcome_unknown', to, error: expect.stringMatching(/may or may not have been sent/) });
      expect((await next.listAudit({ limit: 5 })).map((a) => a.outcome)).toEqual(['sent', 'outcome_unknown']);
      expect(await next.recoverInFlight(() => false, minutes(2))).toEqual([]);
      expect((await next.readLedger(keysFor(to, 'x'))).earlier).toMatchObject({ state: 'outcome_unknown', reservationId: inFlight.id });
      expect((await next.sendTotals(HOUR, DAY)).messagesToday).toBe(2);
    });

    test('recoverInFlight: a row with our own pid is a predecessor\'s (nothing reserved yet at start)', async () => {
      const { store, another } = await open();
      await store.reserveSend(keysFor('+14155550670'), () => request('+14155550670'));
      // The reserving handle is in this process: its pid is ours, so even "alive" it is a predecessor.
      expect(await (await another()).recoverInFlight(() => true, minutes(1))).toHaveLength(1);
      expect(await (await another()).recoverInFlight(() => true, minutes(1))).toHaveLength(0);
    });
  });

  describe('insights', () => {
    test('messagesSentBetween: settled messages in [start, end) with their delivery status, oldest first', async () => {
      const { store } = await open();
      await store.recordSend({ kind: 'message', to: '+14155550700', bodyHash: null, sid: 'SM_i1', estimatedCost: 0.01, at: minutes(1) });
      await store.recordSend({ kind: 'message', to: '+14155550701', bodyHash: null, sid: 'SM_i2', estimatedCost: 0.02, at: minutes(2) });
      await store.recordSend({ kind: 'call', to: '+14155550702', bodyHash: null, sid: 'CA_i3', estimatedCost: 0.2, at: minutes(3) });
      await store.recordSend({ kind: 'message', to: '+14155550703', bodyHash: null, sid: 'SM_i4', estimatedCost: 0.02, at: minutes(10) });
      await store.ingestBatch([
        statusItem('message_status', 'SM_i1', 'sent', minutes(1)),
        statusItem('message_status', 'SM_i1', 'delivered', minutes(4)),
        statusItem('message_status', 'SM_i1', 'read', minutes(5)),
        statusItem('message_status', 'SM_i2', 'undelivered', minutes(3), { errorCode: 30005 }),
      ]);
      expect(await store.messagesSentBetween(T0, minutes(10))).toEqual([
        { sid: 'SM_i1', to: '+14155550700', from: null, channel: null, state: 'sent', at: minutes(1), estimatedCost: 0.01, status: 'read', errorCode: null, deliveredAt: minutes(4) },
        { sid: 'SM_i2', to: '+14155550701', from: null, channel: null, state: 'sent', at: minutes(2), estimatedCost: 0.02, status: 'undelivered', errorCode: 30005, deliveredAt: null },
      ]);
    });

    test('messagesSentBetween: reservations in flight or of unknown outcome count, released ones do not; the sender is kept', async () => {
      const { store } = await open();
      const take = (to: string, at: Date) => store.reserveSend(keysFor(to), () => request(to, { at, from: `MG${'3'.repeat(32)}` }));
      const sent = await take('+14155550710', minutes(1));
      await take('+14155550711', minutes(2));
      const released = await take('+14155550712', minutes(3));
      const unknown = await take('+14155550713', minutes(4));
      await store.settleSend(sent.id, { state: 'sent', sid: 'SM_r1', at: minutes(1) });
      await store.settleSend(released.id, { state: 'released', error: 'refused', at: minutes(3) });
      await store.settleSend(unknown.id, { state: 'outcome_unknown', error: 'lost', at: minutes(4) });
      const facts = await store.messagesSentBetween(T0, minutes(60));
      expect(facts.map((f) => [f.to, f.state, f.sid, f.from, f.channel])).toEqual([
        ['+14155550710', 'sent', 'SM_r1', `MG${'3'.repeat(32)}`, 'sms'],
        ['+14155550711', 'in_flight', null, `MG${'3'.repeat(32)}`, 'sms'],
        ['+14155550713', 'outcome_unknown', null, `MG${'3'.repeat(32)}`, 'sms'],
      ]);
    });
  });

  describe('IVR flows, inbound numbers and call events', () => {
    test('saves (new, then replaced), lists by name, maps numbers, and deletes a flow with its uses', async () => {
      const { store } = await open();
      expect(await store.saveIvrFlow('menu', { name: 'menu', steps: [] }, T0)).toBe(true);
      expect(await store.saveIvrFlow('menu', { name: 'menu', steps: [{ id: 'a', say: 'Hi', options: { '1': 'b' } }] }, minutes(1))).toBe(false);
      expect(await store.saveIvrFlow('Zebra', { name: 'Zebra', steps: [] }, T0)).toBe(true);
      expect(await store.saveIvrFlow('after-hours', { name: 'after-hours', steps: [] }, T0)).toBe(true);
      expect(await store.getIvrFlow('menu')).toEqual({ name: 'menu', definition: { name: 'menu', steps: [{ id: 'a', say: 'Hi', options: { '1': 'b' } }] }, createdAt: T0, updatedAt: minutes(1) });
      expect(await store.getIvrFlow('missing')).toBeUndefined();
      // Byte order, as SQLite compares text: capitals before lower case.
      expect((await store.listIvrFlows()).map((f) => f.name)).toEqual(['Zebra', 'after-hours', 'menu']);

      await store.setInboundCallFlow('+15005550006', 'menu', T0);
      await store.setInboundCallFlow('+15005550007', 'menu', T0);
      await store.setInboundCallFlow('+15005550008', 'Zebra', T0);
      await store.setInboundCallFlow('+15005550008', 'after-hours', minutes(2));
      expect(await store.getInboundCallFlow('+15005550008')).toBe('after-hours');
      expect(await store.listInboundCallFlows('menu')).toEqual([
        { number: '+15005550006', flowName: 'menu', setAt: T0 },
        { number: '+15005550007', flowName: 'menu', setAt: T0 },
      ]);
      expect((await store.listInboundCallFlows()).map((u) => `${u.number}=${u.flowName}`)).toEqual(['+15005550006=menu', '+15005550007=menu', '+15005550008=after-hours']);
      await store.setInboundCallFlow('+15005550007', null, minutes(3));
      expect(await store.getInboundCallFlow('+15005550007')).toBeUndefined();

      expect(await store.deleteIvrFlow('menu')).toBe(true);
      expect(await store.getInboundCallFlow('+15005550006')).toBeUndefined();
      expect(await store.getInboundCallFlow('+15005550008')).toBe('after-hours');
      expect(await store.deleteIvrFlow('menu')).toBe(false);
      expect((await store.listIvrFlows()).map((f) => f.name)).toEqual(['Zebra', 'after-hours']);
    });

    test("keeps a call's events in order", async () => {
      const { store } = await open();
      const callSid = sid('CA');
      const base = { callSid, flowName: 'menu', digits: null, speech: null, confidence: null, detail: null };
      await store.appendCallEvent({ ...base, step: 'a', kind: 'prompt', at: T0 });
      await store.appendCallEvent({ ...base, step: 'a', kind: 'answer', digits: '1', speech: 'one', confidence: 0.5, detail: '{"next":"b"}', at: T0 });
      await store.appendCallEvent({ ...base, flowName: null, step: null, kind: 'hangup', at: minutes(1) });
      await store.appendCallEvent({ ...base, callSid: sid('CA'), step: 'z', kind: 'prompt', at: T0 });
      expect(await store.listCallEvents(callSid)).toEqual([
        { callSid, flowName: 'menu', step: 'a', kind: 'prompt', digits: null, speech: null, confidence: null, detail: null, at: T0 },
        { callSid, flowName: 'menu', step: 'a', kind: 'answer', digits: '1', speech: 'one', confidence: 0.5, detail: '{"next":"b"}', at: T0 },
        { callSid, flowName: null, step: null, kind: 'hangup', digits: null, speech: null, confidence: null, detail: null, at: minutes(1) },
      ]);
      expect(await store.listCallEvents(sid('CA'))).toEqual([]);
    });
  });

  describe('live conversation sessions', () => {
    test('open, bind, end once; transcripts in order', async () => {
      const { store } = await open();
      await store.openRelaySession({ sessionId: 's-a', to: '+14155550900', purpose: 'remind about the appointment', startedAt: T0 });
      expect(await store.getRelaySession('s-a')).toEqual({ sessionId: 's-a', callSid: null, to: '+14155550900', purpose: 'remind about the appointment', startedAt: T0, endedAt: null, outcome: null });
      const callSid = sid('CA');
      await store.bindRelaySession('s-a', callSid);
      await store.appendTranscript('s-a', { at: T0, speaker: 'agent', kind: 'said', text: 'Hello' });
      await store.appendTranscript('s-a', { at: minutes(1), speaker: 'caller', kind: 'digits', text: '1' });
      await store.appendTranscript('s-b', { at: T0, speaker: 'caller', kind: 'said', text: 'other session' });
      await store.endRelaySession('s-a', 'completed', minutes(2));
      await store.endRelaySession('s-a', 'failed', minutes(3));
      expect(await store.findRelaySessionByCall(callSid)).toMatchObject({ sessionId: 's-a', callSid, endedAt: minutes(2), outcome: 'completed' });
      expect(await store.findRelaySessionByCall(sid('CA'))).toBeUndefined();
      expect(await store.getRelaySession('s-missing')).toBeUndefined();
      expect(await store.listTranscript('s-a')).toEqual([
        { at: T0, speaker: 'agent', kind: 'said', text: 'Hello' },
        { at: minutes(1), speaker: 'caller', kind: 'digits', text: '1' },
      ]);
      // A call bound to a second session: the latest started is the one found.
      await store.openRelaySession({ sessionId: 's-c', to: '+14155550900', purpose: 'again', startedAt: minutes(5) });
      await store.bindRelaySession('s-c', callSid);
      expect((await store.findRelaySessionByCall(callSid))?.sessionId).toBe('s-c');
    });

    test('a restart ends the sessions the stopped process left open and keeps their transcripts', async () => {
      const { store: first, another } = await open();
      await first.openRelaySession({ sessionId: 's-1', to: '+14155550900', purpose: 'test', startedAt: T0 });
      await first.bindRelaySession('s-1', 'CA'.padEnd(34, '7'));
      await first.appendTranscript('s-1', { at: T0, speaker: 'caller', kind: 'said', text: 'hello' });
      await first.appendTranscript('s-1', { at: T0, speaker: 'agent', kind: 'said', text: 'hi there' });
      await first.openRelaySession({ sessionId: 's-2', to: '+14155550901', purpose: 'test', startedAt: minutes(1) });
      await first.endRelaySession('s-2', 'completed', minutes(2));
      await first.close();
      const second = await another();
      const ended = await second.endOrphanRelaySessions(minutes(3));
      expect(ended.map((s) => s.sessionId)).toEqual(['s-1']);
      expect(await second.findRelaySessionByCall('CA'.padEnd(34, '7'))).toMatchObject({ outcome: 'server_restarted', endedAt: minutes(3) });
      expect(await second.getRelaySession('s-2')).toMatchObject({ outcome: 'completed', endedAt: minutes(2) });
      expect((await second.listTranscript('s-1')).map((t) => `${t.speaker}:${t.text}`)).toEqual(['caller:hello', 'agent:hi there']);
      expect(await second.endOrphanRelaySessions(minutes(4))).toEqual([]);
    });
  });

  describe('the audit log', () => {
    test('appends with increasing ids and lists newest first, by tool and since, up to a limit', async () => {
      const { store } = await open();
      const entry = (tool: string, at: Date) => ({ at, tool, arguments: { to: '+14155550100', nested: { list: [1, 'two', null], flag: true } }, resultSid: null, error: null, clientName: null, sessionId: null });
      const a = await store.appendAudit(entry('send_sms', minutes(1)));
      const b = await store.appendAudit({ ...entry('make_call', minutes(2)), resultSid: 'CA_x', error: null, clientName: 'claude', sessionId: 'sess', outcome: 'sent' });
      const c = await store.appendAudit({ ...entry('send_sms', minutes(3)), error: 'refused by policy' });
      expect(b).toBeGreaterThan(a);
      expect(c).toBeGreaterThan(b);
      expect((await store.listAudit({ limit: 10 })).map((e) => e.tool)).toEqual(['send_sms', 'make_call', 'send_sms']);
      expect((await store.listAudit({ tool: 'send_sms', limit: 10 })).map((e) => e.at)).toEqual([minutes(3), minutes(1)]);
      expect((await store.listAudit({ since: minutes(2), limit: 10 })).map((e) => e.tool)).toEqual(['send_sms', 'make_call']);
      expect((await store.listAudit({ tool: 'send_sms', since: minutes(2), limit: 10 })).map((e) => e.error)).toEqual(['refused by policy']);
      expect(await store.listAudit({ limit: 1 })).toHaveLength(1);
      expect((await store.listAudit({ tool: 'make_call', limit: 10 }))[0]).toEqual({
        at: minutes(2), tool: 'make_call', arguments: { to: '+14155550100', nested: { list: [1, 'two', null], flag: true } }, resultSid: 'CA_x', error: null, clientName: 'claude', sessionId: 'sess', outcome: 'sent',
      });
      expect((await store.listAudit({ tool: 'send_sms', limit: 1 }))[0]?.outcome).toBeNull();
    });
  });
});
