/**
 * The store beyond the basics: inbox filters and read marks, status ordering for messages
 * and calls under shuffled callbacks, opt-out filters and audit, file permissions, schema
 * upgrades from an older database and refusal of a newer one.
 */
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDataDir } from '../../src/store/data-dir.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openSqliteStore, openStoreInDir, STORE_FILE_NAME, StoreVersionError } from '../../src/store/sqlite-store.js';
import { statusAdvances } from '../../src/store/status-order.js';
import type { Ingest, InboundMessage, Store, WebhookEvent } from '../../src/store/store.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'mcp-twilio-store-'));
const opened: Store[] = [];
const track = (store: Store) => (opened.push(store), store);
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

let counter = 0;
const sid = (prefix: 'SM' | 'CA') => `${prefix}${(++counter).toString(16).padStart(32, '0')}`;

function inboundItem(m: Partial<Omit<InboundMessage, 'readAt'>> & { receivedAt: Date }): { event: WebhookEvent; change: Ingest } {
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
    event: { kind: 'inbound_message', sid: message.messageSid, status: 'received', idempotencyToken: null, receivedAt: m.receivedAt, params: {} },
    change: { kind: 'inbound_message', message, optOuts: [] },
  };
}

function statusItem(kind: 'message_status' | 'call_status', s: string, status: string, at: Date, errorCode: number | null = null) {
  return {
    event: { kind, sid: s, status, idempotencyToken: null, receivedAt: at, params: {} } satisfies WebhookEvent,
    change: { kind, sid: s, status, errorCode, at } satisfies Ingest,
  };
}

describe('inbox', () => {
  it('lists newest first with from/to/since/unread filters and a limit', async () => {
    const store = track(openSqliteStore(':memory:'));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const at = (minutes: number) => new Date(t0 + minutes * 60_000);
    await store.ingestBatch([
      inboundItem({ messageSid: 'SM_a', from: '+14155550101', body: 'a', receivedAt: at(1) }),
      inboundItem({ messageSid: 'SM_b', from: '+14155550102', body: 'b', receivedAt: at(2) }),
      inboundItem({ messageSid: 'SM_c', from: '+14155550101', to: '+15005550007', body: 'c', receivedAt: at(3) }),
      inboundItem({ messageSid: 'SM_d', from: 'whatsapp:+14155550103', to: 'whatsapp:+15005550006', channel: 'whatsapp', profileName: 'Ada', body: 'd', receivedAt: at(4) }),
    ]);
    const bodies = async (filter: Parameters<Store['listInbound']>[0]) => (await store.listInbound(filter)).map((m) => m.body);
    expect(await bodies({ limit: 10 })).toEqual(['d', 'c', 'b', 'a']);
    expect(await bodies({ limit: 2 })).toEqual(['d', 'c']);
    expect(await bodies({ from: '+14155550101', limit: 10 })).toEqual(['c', 'a']);
    expect(await bodies({ to: '+15005550007', limit: 10 })).toEqual(['c']);
    expect(await bodies({ since: at(2), limit: 10 })).toEqual(['d', 'c', 'b']);
    expect((await store.listInbound({ from: 'whatsapp:+14155550103', limit: 1 }))[0]).toMatchObject({ channel: 'whatsapp', profileName: 'Ada', readAt: null });

    expect(await store.markRead(['SM_a', 'SM_c', 'SM_missing'], at(10))).toBe(2);
    expect(await store.markRead(['SM_a'], at(11))).toBe(0);
    expect(await bodies({ unreadOnly: true, limit: 10 })).toEqual(['d', 'b']);
    expect(await bodies({ unreadOnly: true, from: '+14155550101', limit: 10 })).toEqual([]);
    expect((await store.listInbound({ from: '+14155550101', limit: 10 })).map((m) => m.readAt?.toISOString())).toEqual([at(10).toISOString(), at(10).toISOString()]);
  });

  it('finds the oldest unread reply from a sender after a time', async () => {
    const store = track(openSqliteStore(':memory:'));
    const t0 = Date.now();
    await store.ingestBatch([
      inboundItem({ messageSid: 'SM_old', body: 'before', receivedAt: new Date(t0 - 60_000) }),
      inboundItem({ messageSid: 'SM_1', body: 'first', receivedAt: new Date(t0 + 1) }),
      inboundItem({ messageSid: 'SM_2', body: 'second', receivedAt: new Date(t0 + 2) }),
      inboundItem({ messageSid: 'SM_other', from: '+14155550999', body: 'other', receivedAt: new Date(t0 + 3) }),
    ]);
    expect((await store.findUnreadFrom('+14155550100', new Date(t0)))?.body).toBe('first');
    await store.markRead(['SM_1'], new Date());
    expect((await store.findUnreadFrom('+14155550100', new Date(t0)))?.body).toBe('second');
    await store.markRead(['SM_2'], new Date());
    expect(await store.findUnreadFrom('+14155550100', new Date(t0))).toBeUndefined();
  });

  it('keeps media and the first copy of a message SID', async () => {
    const store = track(openSqliteStore(':memory:'));
    const media = [{ url: 'https://api.twilio.com/m/1', contentType: 'image/jpeg' }];
    const first = inboundItem({ messageSid: 'SM_media', body: 'pic', media, channel: 'mms', receivedAt: new Date() });
    expect(await store.ingestBatch([first])).toEqual([{ duplicate: false }]);
    // Same SID, new token: a second delivery of the same message, not a second message.
    const again = { ...first, event: { ...first.event, idempotencyToken: 'another' } };
    expect(await store.ingestBatch([again])).toEqual([{ duplicate: true }]);
    expect(await store.listInbound({ limit: 10 })).toEqual([expect.objectContaining({ body: 'pic', media, channel: 'mms' })]);
  });
});

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

describe('status ordering', () => {
  const cases: Array<{ kind: 'message_status' | 'call_status'; sequence: string[]; final: string }> = [
    { kind: 'message_status', sequence: ['queued', 'sending', 'sent', 'delivered'], final: 'delivered' },
    { kind: 'message_status', sequence: ['accepted', 'queued', 'sending', 'sent', 'delivered', 'read'], final: 'read' },
    { kind: 'message_status', sequence: ['scheduled', 'queued', 'sending', 'sent', 'undelivered'], final: 'undelivered' },
    { kind: 'message_status', sequence: ['queued', 'sending', 'failed'], final: 'failed' },
    { kind: 'call_status', sequence: ['queued', 'initiated', 'ringing', 'in-progress', 'completed'], final: 'completed' },
    { kind: 'call_status', sequence: ['queued', 'ringing', 'no-answer'], final: 'no-answer' },
  ];

  it.each(cases)('$kind ends $final whatever order the callbacks arrive in (40 seeded permutations)', async ({ kind, sequence, final }) => {
    const store = track(openSqliteStore(':memory:'));
    for (let seed = 1; seed <= 40; seed++) {
      const s = sid(kind === 'call_status' ? 'CA' : 'SM');
      const order = shuffled(sequence, seed);
      const t0 = Date.now();
      // One batch per callback, as they would arrive.
      for (const [i, status] of order.entries()) await store.ingestBatch([statusItem(kind, s, status, new Date(t0 + i), status === 'failed' || status === 'undelivered' ? 30003 : null)]);
      const record = await (kind === 'call_status' ? store.getCallStatus(s) : store.getMessageStatus(s));
      expect(record?.current, `seed ${seed}: ${order.join(' → ')}`).toBe(final);
      expect(record?.history.map((h) => h.status)).toEqual(order);
      // Exactly the callbacks that moved the status forward are marked applied.
      expect(record?.history.filter((h) => h.applied).at(-1)?.status).toBe(final);
    }
  });

  it('keeps the error code of a failure, and a failed message is never "read"', async () => {
    const store = track(openSqliteStore(':memory:'));
    const s = sid('SM');
    const t = new Date();
    await store.ingestBatch([statusItem('message_status', s, 'undelivered', t, 30006), statusItem('message_status', s, 'read', t), statusItem('message_status', s, 'sent', t)]);
    const record = (await store.getMessageStatus(s))!;
    expect(record).toMatchObject({ current: 'undelivered', errorCode: 30006 });
    expect(record.history.map((h) => [h.status, h.applied])).toEqual([['undelivered', true], ['read', false], ['sent', false]]);
  });

  it('ranks statuses as documented', () => {
    expect(statusAdvances('message', 'delivered', 'read')).toBe(true);
    expect(statusAdvances('message', 'delivered', 'sent')).toBe(false);
    expect(statusAdvances('message', 'delivered', 'failed')).toBe(false);
    expect(statusAdvances('message', 'canceled', 'read')).toBe(false);
    expect(statusAdvances('message', 'scheduled', 'queued')).toBe(true);
    expect(statusAdvances('message', 'sent', 'some-new-status')).toBe(false);
    expect(statusAdvances('message', undefined, 'some-new-status')).toBe(true);
    expect(statusAdvances('call', 'in-progress', 'ringing')).toBe(false);
    expect(statusAdvances('call', 'completed', 'busy')).toBe(false);
  });

  it('agrees with a brute-force check over random callback sequences', async () => {
    const store = track(openSqliteStore(':memory:'));
    const all = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read'];
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.constantFrom(...all), { minLength: 1, maxLength: all.length }), async (order) => {
        const s = sid('SM');
        for (const [i, status] of order.entries()) await store.ingestBatch([statusItem('message_status', s, status, new Date(Date.now() + i))]);
        let expected: string | undefined;
        for (const status of order) if (statusAdvances('message', expected, status)) expected = status;
        expect((await store.getMessageStatus(s))?.current).toBe(expected);
      }),
      { seed: 11, numRuns: 100 },
    );
  });
});

describe('opt-outs', () => {
  it('filters by sender and recipient, and audits every change newest first', async () => {
    const store = track(openSqliteStore(':memory:'));
    const t = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n));
    const service = `MG${'1'.repeat(32)}`;
    await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'STOP' }, t(1));
    await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: '+14155550200', source: 'keyword', keyword: 'STOP' }, t(1));
    await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550201', source: 'manual', reason: 'asked by phone' }, t(2));
    expect(await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550201', source: 'keyword', keyword: 'QUIT' }, t(3))).toBe(false);
    expect((await store.listOptOuts({ sender: service, limit: 10 })).map((o) => o.recipient)).toEqual(['+14155550201', '+14155550200']);
    expect((await store.listOptOuts({ recipient: '+14155550200', limit: 10 })).map((o) => o.sender).sort()).toEqual(['+15005550006', service]);
    expect(await store.listOptOuts({ sender: service, recipient: '+14155550201', limit: 10 })).toEqual([expect.objectContaining({ source: 'manual', reason: 'asked by phone' })]);

    expect(await store.applyOptOut({ action: 'remove', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'START' }, t(4))).toBe(true);
    expect(await store.applyOptOut({ action: 'remove', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'START' }, t(5))).toBe(false);
    expect(await store.isOptedOut([service], '+14155550200')).toBeUndefined();
    expect((await store.isOptedOut([service, '+15005550006'], '+14155550200'))?.sender).toBe('+15005550006');

    const audit = await store.listOptOutAudit({ recipient: '+14155550200', limit: 10 });
    expect(audit.map((a) => [a.action, a.sender === service ? 'service' : 'number', a.keyword])).toEqual([
      ['remove', 'service', 'START'],
      ['remove', 'service', 'START'],
      ['add', 'number', 'STOP'],
      ['add', 'service', 'STOP'],
    ]);
    expect((await store.listOptOutAudit({ sender: service, limit: 2 })).map((a) => a.at.toISOString())).toEqual([t(5).toISOString(), t(4).toISOString()]);
  });
});

describe('files and schema', () => {
  it('creates the directory 0700 and the database 0600', () => {
    if (process.platform === 'win32') return;
    const dir = join(freshDir(), 'nested', 'data');
    track(openStoreInDir(dir));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, STORE_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, `${STORE_FILE_NAME}-wal`)).mode & 0o077).toBe(0);
  });

  it('tightens a database file an earlier version left readable by others', () => {
    if (process.platform === 'win32') return;
    const dir = freshDir();
    const file = join(dir, STORE_FILE_NAME);
    new Database(file).close();
    chmodSync(file, 0o644);
    track(openStoreInDir(dir));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('upgrades a database written by an older version, keeping its rows', async () => {
    const dir = freshDir();
    const file = join(dir, STORE_FILE_NAME);
    const old = new Database(file);
    const first = MIGRATIONS[0]!;
    // Applied as the store applies one (a migration is SQL or a function).
    if (typeof first === 'string') old.exec(first);
    else first(old);
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO opt_outs (sender, recipient, source, created_at) VALUES ('*', '+14155550300', 'manual', '2025-01-01T00:00:00.000Z')").run();
    old.close();

    const store = track(openStoreInDir(dir));
    expect((await store.isOptedOut(['+15005550006'], '+14155550300'))?.sender).toBe('*');
    await store.recordSend({ kind: 'message', to: '+14155550300', bodyHash: null, sid: 'SM1', estimatedCost: 0.01, at: new Date() });
    expect(await store.hasContacted('+14155550300')).toBe(true);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    check.close();
  });

  it('refuses a database from a newer version, saying what to do, and leaves it untouched', () => {
    const dir = freshDir();
    const file = join(dir, STORE_FILE_NAME);
    const future = new Database(file);
    future.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    future.close();
    expect(() => openStoreInDir(dir)).toThrow(StoreVersionError);
    expect(() => openStoreInDir(dir)).toThrow(/Upgrade mcp-server-twilio, or set TWILIO_MCP_DATA_DIR/);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 1);
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    check.close();
  });

  it('serves two handles on one directory (the second open finds the schema current)', async () => {
    const dir = freshDir();
    const a = track(openStoreInDir(dir));
    const b = track(openStoreInDir(dir));
    await a.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550400', source: 'manual' }, new Date());
    expect(await b.isOptedOut(['x'], '+14155550400')).toBeDefined();
  });

  it('falls back to the platform data directory', () => {
    expect(resolveDataDir({}, 'linux')).toBe(join(homedir(), '.local', 'share', 'mcp-server-twilio'));
    expect(resolveDataDir({ XDG_DATA_HOME: '  ' }, 'linux')).toBe(join(homedir(), '.local', 'share', 'mcp-server-twilio'));
    expect(resolveDataDir({ TWILIO_MCP_DATA_DIR: '  ' , XDG_DATA_HOME: '/xdg' }, 'linux')).toBe(join('/xdg', 'mcp-server-twilio'));
    expect(resolveDataDir({ TWILIO_MCP_DATA_DIR: '/explicit' }, 'darwin')).toBe('/explicit');
    expect(resolveDataDir({}, 'win32')).toBe(join(homedir(), 'AppData', 'Roaming', 'mcp-server-twilio'));
    expect(resolveDataDir({ TWILIO_MCP_DATA_DIR: '~/twilio-data' }, 'linux')).toBe(join(homedir(), 'twilio-data'));
    expect(resolveDataDir({ TWILIO_MCP_DATA_DIR: 'relative/dir' }, 'linux')).toBe(join(process.cwd(), 'relative', 'dir'));
  });
});
