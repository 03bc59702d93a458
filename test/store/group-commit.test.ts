/**
 * Group commit of the SQLite store's reservations: concurrent reserveSend calls of one turn
 * commit in one transaction, each decided in turn against the ledger holding the ones
 * before it, each in its own savepoint (a refusal, or a failed insert, rolls back only
 * itself), and no promise resolves before the COMMIT. Between groups the store reuses the
 * totals it computed only while no other connection changed the ledger (migration 9).
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { LedgerKeys, LedgerSnapshot, Reservation, ReservationRequest } from '../../src/store/store.js';
import { tempStores } from '../helpers/temp-store.js';

const { freshFile, open } = tempStores('mcp-twilio-group-commit-');
const NOON = new Date('2026-11-24T17:00:00Z');
const HOUR = new Date('2026-11-24T17:00:00Z');
const DAY = new Date('2026-11-24T00:00:00Z');
const to = (i: number) => `+1415555${String(1000 + i)}`;
const keys = (i: number): LedgerKeys => ({ to: to(i), bodyHash: null, duplicateSince: null, hourStart: HOUR, dayStart: DAY });
const request = (i: number, over: Partial<ReservationRequest> = {}): ReservationRequest => ({
  kind: 'message', channel: 'sms', to: to(i), bodyHash: null, estimatedCost: 0.01, at: NOON, sendAt: null,
  audit: { at: NOON, tool: 'send_sms', arguments: { i }, clientName: null, sessionId: null }, ...over,
});
/** A cap of `cap` messages this hour, decided against the snapshot the store hands over. */
const capped = (cap: number, i: number) => (ledger: LedgerSnapshot) => {
  if (ledger.totals.messagesThisHour >= cap) throw new Error(`cap ${cap} reached`);
  return request(i);
};
const rows = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return {
      reservations: db.prepare('SELECT COUNT(*) FROM send_reservations').pluck().get() as number,
      audit: db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get() as number,
    };
  } finally {
    db.close();
  }
};

describe('group commit of reservations', () => {
  it('30 concurrent reservations against a cap of 7: exactly 7 reserved, all in one commit', async () => {
    const file = freshFile();
    const store = open(file);
    const attempts = Array.from({ length: 30 }, (_, i) => store.reserveSend(keys(i), capped(7, i)));
    // Whenever a promise settles, another connection already sees every reservation of the
    // group on disk: one COMMIT for all, and no promise settled before it.
    const seenWhenSettled = await Promise.all(attempts.map((p) => p.then(() => rows(file), () => rows(file))));
    const results = await Promise.allSettled(attempts);
    const reserved = results.filter((r): r is PromiseFulfilledResult<Reservation> => r.status === 'fulfilled');
    expect(reserved).toHaveLength(7);
    // Decided in arrival order: the first seven got the slots.
    expect(reserved.map((r) => r.value.to)).toEqual(Array.from({ length: 7 }, (_, i) => to(i)));
    expect(results.slice(7).every((r) => r.status === 'rejected' && /cap 7 reached/.test(String(r.reason)))).toBe(true);
    expect(new Set(seenWhenSettled.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ reservations: 7, audit: 7 })]));
    expect(rows(file)).toEqual({ reservations: 7, audit: 7 });
  });

  it('one transaction, not one each: ten concurrent reservations write about what one does to the WAL', async () => {
    const file = freshFile();
    const store = open(file);
    await store.reserveSend(keys(100), () => request(100));
    const checkpointer = new Database(file);
    // Frames the WAL holds since it was last emptied (each commit writes its changed pages once).
    const walFrames = () => (statSync(`${file}-wal`).size - 32) / (24 + (checkpointer.pragma('page_size', { simple: true }) as number));
    try {
      checkpointer.pragma('wal_checkpoint(TRUNCATE)');
      await store.reserveSend(keys(0), () => request(0));
      const one = walFrames();
      checkpointer.pragma('wal_checkpoint(TRUNCATE)');
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.reserveSend(keys(1 + i), () => request(1 + i))));
      const ten = walFrames();
      expect(one).toBeGreaterThan(0);
      expect(ten).toBeLessThan(2 * one);
    } finally {
      checkpointer.close();
    }
  });

  it('a refusal in the middle of a group rolls back only itself; each decision sees the ones before it', async () => {
    const file = freshFile();
    const store = open(file);
    const seen: number[] = [];
    const decide = (i: number) => (ledger: LedgerSnapshot) => {
      seen.push(ledger.totals.messagesThisHour);
      if (i === 2) throw new Error('refused: number 2');
      return request(i);
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => store.reserveSend(keys(i), decide(i))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/refused: number 2/);
    expect(seen).toEqual([0, 1, 2, 2, 3]);
    expect(rows(file)).toEqual({ reservations: 4, audit: 4 });
    expect((await store.readLedger(keys(2))).contacted).toBe(false);
  });

  it('an insert that fails after its audit row rolls back that audit row too, not the others', async () => {
    const file = freshFile();
    const store = open(file);
    const results = await Promise.allSettled([
      store.reserveSend(keys(0), () => request(0)),
      // NOT NULL to_number: the reservation insert fails after the audit intent was written.
      store.reserveSend(keys(1), () => request(1, { to: null as unknown as string })),
      store.reserveSend(keys(2), () => request(2)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(rows(file)).toEqual({ reservations: 2, audit: 2 });
  });

  it('groups of later turns see what another connection changed in between (the totals are not kept past it)', async () => {
    const file = freshFile();
    const store = open(file);
    const other = open(file);
    // Group 1: two of a cap of 4.
    await Promise.all([0, 1].map((i) => store.reserveSend(keys(i), capped(4, i))));
    // Another connection (another process on the same file would do the same) takes two more.
    await other.reserveSend(keys(10), capped(4, 10));
    await other.recordSend({ kind: 'message', to: to(11), bodyHash: null, sid: `SM${'1'.repeat(32)}`, estimatedCost: 0.01, at: NOON });
    await expect(store.reserveSend(keys(2), capped(4, 2))).rejects.toThrow(/cap 4 reached/);
    // It releases one (Twilio refused it): the slot is free again for this store's next group.
    const released = await other.reserveSend(keys(12), () => request(12));
    await expect(store.reserveSend(keys(3), capped(5, 3))).rejects.toThrow(/cap 5 reached/);
    await other.settleSend(released.id, { state: 'released', error: 'refused by Twilio', at: NOON });
    await expect(store.reserveSend(keys(3), capped(5, 3))).resolves.toMatchObject({ to: to(3) });
    expect((await store.readLedger(keys(0))).totals.messagesThisHour).toBe(5);
  });

  it('what is waiting when the store closes is committed first', async () => {
    const file = freshFile();
    const store = open(file);
    const pending = store.reserveSend(keys(0), () => request(0));
    await store.close();
    await expect(pending).resolves.toMatchObject({ to: to(0), state: 'in_flight' });
    expect(rows(file)).toEqual({ reservations: 1, audit: 1 });
  });
});
