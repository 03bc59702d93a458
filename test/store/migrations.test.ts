/**
 * Upgrades of a store written by an earlier version: rows stored before a migration are
 * carried into the new shape, and keep guarding what they guarded (or start to).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database file as version `n` of the server left it. */
function storeAtVersion(n: number, fill: (db: Database.Database) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'store.sqlite');
  const db = new Database(file);
  for (const migration of MIGRATIONS.slice(0, n)) {
    if (typeof migration !== 'string') throw new Error('the fixture only replays SQL migrations');
    db.exec(migration);
  }
  db.pragma(`user_version = ${n}`);
  fill(db);
  db.close();
  return file;
}

describe('version 2 → 3: the ledger becomes reservations', () => {
  it('carries settled sends over as sent: they keep counting for caps and duplicates', async () => {
    const at = new Date();
    const file = storeAtVersion(2, (db) => {
      db.prepare('INSERT INTO send_ledger (kind, to_number, body_hash, sid, estimated_cost, at) VALUES (?, ?, ?, ?, ?, ?)').run('message', '+14155550100', 'h1', 'SM1', 0.0083, at.toISOString());
      db.prepare("INSERT INTO audit_log (at, tool, arguments, result_sid, error, client_name, session_id) VALUES (?, 'send_sms', '{}', 'SM1', NULL, NULL, NULL)").run(at.toISOString());
    });
    const store = openSqliteStore(file);
    try {
      expect(await store.sendTotals(new Date(at.getTime() - 1000), new Date(at.getTime() - 1000))).toMatchObject({ messagesThisHour: 1, spendToday: 0.0083 });
      expect(await store.findRecentSend('+14155550100', 'h1', new Date(0))).toMatchObject({ sid: 'SM1', state: 'sent' });
      expect(await store.listAudit({ limit: 1 })).toMatchObject([{ tool: 'send_sms', resultSid: 'SM1', outcome: null }]);
    } finally {
      await store.close();
    }
  });
});

describe('version 3 → 4: canonical phone keys', () => {
  it('rewrites loosely typed opt-outs so they block, merges two spellings, and canonicalises the inbox and the ledger', async () => {
    const at = new Date().toISOString();
    const file = storeAtVersion(3, (db) => {
      const optOut = db.prepare('INSERT INTO opt_outs (sender, recipient, source, keyword, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)');
      optOut.run('*', '(415) 555-0199', 'manual', null, 'asked by phone', at);
      optOut.run('*', '+1 415 555 0198', 'manual', null, 'first spelling', at);
      optOut.run('*', '+14155550198', 'keyword', 'STOP', null, at);
      optOut.run('MGABCDEF0123456789ABCDEF0123456789', 'WhatsApp:+1 415 555 0197', 'keyword', 'STOP', null, at);
      optOut.run('*', 'not a number', 'manual', null, null, at);
      db.prepare('INSERT INTO opt_out_audit (action, sender, recipient, source, keyword, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run('add', '*', '(415) 555-0199', 'manual', null, null, at);
      db.prepare(`INSERT INTO inbound_messages (message_sid, from_number, to_number, body, media, messaging_service_sid, channel, profile_name, keyword, received_at)
        VALUES ('SM1', '+1 (415) 555-0196', '+15005550006', 'hi', '[]', NULL, 'sms', NULL, NULL, ?)`).run(at);
      db.prepare("INSERT INTO send_reservations (kind, to_number, body_hash, sid, state, estimated_cost, at) VALUES ('message', '+1-415-555-0195', 'h', 'SM2', 'sent', 0.01, ?)").run(at);
    });
    const store = openSqliteStore(file);
    try {
      // (415) 555-0199 had no + and no country: the spelling alone cannot place it, so it stays as it was.
      expect(await store.findAnyOptOut(['+14155550199'])).toBeUndefined();
      expect(await store.findAnyOptOut(['+14155550198'])).toBeDefined();
      expect(await store.listOptOuts({ recipient: '+14155550198', limit: 10 })).toHaveLength(1);
      expect(await store.isOptedOut(['MGabcdef0123456789abcdef0123456789'], 'whatsapp:+14155550197')).toBeDefined();
      expect(await store.listOptOuts({ recipient: 'not a number', limit: 10 })).toHaveLength(1);
      expect(await store.listInbound({ from: '+14155550196', limit: 10 })).toHaveLength(1);
      expect(await store.hasContacted('+14155550195')).toBe(true);
    } finally {
      await store.close();
    }
  });
});
