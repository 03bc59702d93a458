import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveDataDir } from '../../src/store/data-dir.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import type { Ingest, WebhookEvent } from '../../src/store/store.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'mcp-twilio-store-'));

function statusItem(sid: string, status: string, at: Date, token: string | null = null): { event: WebhookEvent; change: Ingest } {
  return {
    event: { kind: 'message_status', sid, status, idempotencyToken: token, receivedAt: at, params: { MessageSid: sid, MessageStatus: status } },
    change: { kind: 'message_status', sid, status, errorCode: null, at },
  };
}

describe('SQLite store', () => {
  it('applies every migration to a fresh file and re-opens without re-applying', async () => {
    const dir = freshDir();
    await openStoreInDir(dir).close();
    const store = openStoreInDir(dir);
    await store.close();
    const db = new Database(join(dir, 'mcp-server-twilio.sqlite'));
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('ends in the right final status whatever order the callbacks arrive in', async () => {
    const store = openStoreInDir(freshDir());
    const sequence = ['queued', 'sending', 'sent', 'delivered'];
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(sequence, { minLength: 4, maxLength: 4 }), async (shuffled) => {
        const sid = `SM${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
        const t0 = Date.now();
        await store.ingestBatch(shuffled.map((status, i) => statusItem(sid, status, new Date(t0 + i))));
        const record = (await store.getMessageStatus(sid))!;
        expect(record.current).toBe('delivered');
        expect(record.history).toHaveLength(4);
      }),
      { seed: 7, numRuns: 60 },
    );
    await store.close();
  });

  it('stores a fact once, by idempotency token or by SID + status', async () => {
    const store = openStoreInDir(freshDir());
    const sid = `SM${'a'.repeat(32)}`;
    const now = new Date();
    expect(await store.ingestBatch([statusItem(sid, 'sent', now, 't1')])).toEqual([{ duplicate: false }]);
    expect(await store.ingestBatch([statusItem(sid, 'sent', now, 't1')])).toEqual([{ duplicate: true }]);
    expect(await store.ingestBatch([statusItem(sid, 'sent', now, 't2')])).toEqual([{ duplicate: true }]);
    expect(await store.ingestBatch([statusItem(sid, 'delivered', now, 't1')])).toEqual([{ duplicate: true }]);
    expect((await store.getMessageStatus(sid))!.history).toHaveLength(1);
    await store.close();
  });

  it('keeps opt-outs with an audit trail of every change', async () => {
    const dir = freshDir();
    const store = openStoreInDir(dir);
    const at = new Date();
    await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: '+14155550600', source: 'keyword', keyword: 'STOP' }, at);
    expect((await store.isOptedOut(['+15005550006'], '+14155550600'))?.keyword).toBe('STOP');
    expect(await store.isOptedOut(['+15005550999'], '+14155550600')).toBeUndefined();
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550601', source: 'manual', reason: 'asked' }, at);
    expect((await store.isOptedOut(['+15005550999'], '+14155550601'))?.sender).toBe('*');
    await store.applyOptOut({ action: 'remove', sender: '+15005550006', recipient: '+14155550600', source: 'manual', reason: 'documented re-consent' }, at);
    expect(await store.isOptedOut(['+15005550006'], '+14155550600')).toBeUndefined();
    await store.close();
    const db = new Database(join(dir, 'mcp-server-twilio.sqlite'));
    const audit = db.prepare('SELECT action, source, reason FROM opt_out_audit ORDER BY id').all();
    expect(audit).toEqual([
      { action: 'add', source: 'keyword', reason: null },
      { action: 'add', source: 'manual', reason: 'asked' },
      { action: 'remove', source: 'manual', reason: 'documented re-consent' },
    ]);
    db.close();
  });

  it('resolves the data directory per platform', () => {
    expect(resolveDataDir({ TWILIO_MCP_DATA_DIR: '/data/x' }, 'linux')).toBe('/data/x');
    expect(resolveDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg/mcp-server-twilio');
    expect(resolveDataDir({ APPDATA: 'C:\\AppData' }, 'win32')).toContain('mcp-server-twilio');
    expect(resolveDataDir({}, 'darwin')).toMatch(/Library\/Application Support\/mcp-server-twilio$/);
  });
});
