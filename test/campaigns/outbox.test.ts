/**
 * The Outbox port's contract, run against every adapter (SQLite, PostgreSQL) so they cannot
 * drift: claims are atomic and only of running campaigns, settlements only by the holder,
 * stale rows go to outcome_unknown (never pending), delivery statuses come from the store's
 * status callbacks. Two "connections" are two connections on one SQLite file, or two
 * instances (own pools, own ids) on one PostgreSQL database.
 */
import { describe, expect, it } from 'vitest';
import type { NewRecipient, Outbox } from '../../src/store/outbox.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { postgresMissing } from '../helpers/pg-temp.js';
import { LATER as later, newCampaign as campaign, pendingRows as rows, T0 as t0, tempOutboxes } from './fakes.js';
import { pgOutboxes } from './pg-fixtures.js';

const outboxes = tempOutboxes();
const pg = pgOutboxes();
const noPostgres = await postgresMissing();


interface Adapter {
  name: string;
  skip?: string;
  /** A new place (file, database) that `open` connects to. */
  fresh(): Promise<string>;
  /** Another connection (SQLite) or instance (PostgreSQL) on `where`, closed after the test. */
  open(where: string): Promise<Outbox>;
  /** A message status callback as the store records it (status_current). */
  recordStatus(where: string, sid: string, status: string, errorCode: number | null): Promise<void>;
}

let instances = 0;

const ADAPTERS: Adapter[] = [
  {
    name: 'SQLite',
    fresh: async () => outboxes.file(),
    open: async (file) => outboxes.open(file),
    async recordStatus(file, sid, status, errorCode) {
      const store = openSqliteStore(file);
      await store.ingestBatch([
        {
          event: { kind: 'message_status', sid, status, idempotencyToken: null, receivedAt: later, params: {} },
          change: { kind: 'message_status', sid, status, errorCode, at: later },
        },
      ]);
      await store.close();
    },
  },
  {
    name: 'PostgreSQL',
    skip: noPostgres,
    fresh: () => pg.fresh(),
    open: async (url) => (await pg.open(url, `instance-${++instances}`)).outbox,
    async recordStatus(url, sid, status, errorCode) {
      // The PostgreSQL store adapter creates status_current; this branch has only the outbox, so a
      // stand-in with the store's columns (kind, sid, status, error_code, updated_at) plays it.
      const pool = pg.databases.pool(url, { max: 1 });
      await pool.query('CREATE TABLE IF NOT EXISTS status_current (kind text NOT NULL, sid text NOT NULL, status text NOT NULL, error_code integer, updated_at timestamptz NOT NULL, PRIMARY KEY (kind, sid))');
      await pool.query("INSERT INTO status_current VALUES ('message', $1, $2, $3, $4)", [sid, status, errorCode, later]);
    },
  },
];

describe.each(ADAPTERS)('$name outbox', (adapter) => {
  const test = adapter.skip ? it.skip : it;

  test('two connections claiming at once never get the same row', async () => {
    const where = await adapter.fresh();
    const a = await adapter.open(where);
    const b = await adapter.open(where);
    await a.createCampaign(campaign('CP1'), rows(200, 'CP1'), { batchSize: 7 });
    const claimed: number[] = [];
    const take = async (o: Outbox, pid: number) => {
      for (let i = 0; i < 50; i++) claimed.push(...(await o.claimBatch(3, later, pid)).map((r) => r.row));
    };
    await Promise.all([take(a, 1), take(b, 2)]);
    expect(claimed).toHaveLength(200);
    expect(new Set(claimed).size).toBe(200);
    expect((await a.counts('CP1')).sending).toBe(200);
  });

  test('claims only due rows of running campaigns, in row order, counting the attempt', async () => {
    const o = await adapter.open(await adapter.fresh());
    await o.createCampaign(campaign('CP1'), rows(5, 'CP1'));
    await o.createCampaign(campaign('CP2'), rows(5, 'CP2'));
    expect(await o.setCampaignState('CP2', 'paused')).toBe(true);
    expect(await o.claimBatch(10, new Date(t0.getTime() - 1), 1)).toEqual([]);
    const got = await o.claimBatch(3, later, 1);
    expect(got.map((r) => [r.campaignId, r.row, r.attempts, r.state])).toEqual([
      ['CP1', 1, 1, 'sending'],
      ['CP1', 2, 1, 'sending'],
      ['CP1', 3, 1, 'sending'],
    ]);
    expect(got[0]!.attemptStartedAt?.toISOString()).toBe(later.toISOString());
    const rest = await o.claimBatch(10, later, 1);
    expect(rest.every((r) => r.campaignId === 'CP1')).toBe(true);
    expect(rest).toHaveLength(2);
    await o.setCampaignResumeAt('CP1', new Date(t0.getTime() + 60_000));
    await o.settle({ campaignId: 'CP1', row: 1 }, 1, { state: 'pending', nextAttemptAt: later }, later);
    expect(await o.claimBatch(10, later, 1)).toEqual([]);
  });

  test('a row settled pending for later is claimed again only from then, with the attempt counted', async () => {
    const o = await adapter.open(await adapter.fresh());
    await o.createCampaign(campaign('CP1'), rows(1, 'CP1'));
    const [r1] = await o.claimBatch(1, later, 1);
    const retryAt = new Date(later.getTime() + 30_000);
    expect(await o.settle(r1!, 1, { state: 'pending', nextAttemptAt: retryAt, error: 'HTTP 429', errorCode: 20429 }, later)).toBe(true);
    expect(await o.getRecipient(r1!)).toMatchObject({ state: 'pending', nextAttemptAt: retryAt, errorCode: 20429, ownerPid: null });
    expect(await o.claimBatch(1, new Date(retryAt.getTime() - 1), 1)).toEqual([]);
    const [again] = await o.claimBatch(1, retryAt, 1);
    expect(again).toMatchObject({ row: 1, attempts: 2, state: 'sending' });
  });

  test('a hold that tried nothing (notAnAttempt) takes the claim\'s attempt back', async () => {
    const o = await adapter.open(await adapter.fresh());
    await o.createCampaign(campaign('CP1'), rows(1, 'CP1'));
    const [r1] = await o.claimBatch(1, later, 1);
    expect(r1).toMatchObject({ attempts: 1 });
    const resumes = new Date(later.getTime() + 30_000);
    expect(await o.settle(r1!, 1, { state: 'held', nextAttemptAt: resumes, error: 'quiet hours', notAnAttempt: true }, later)).toBe(true);
    expect(await o.getRecipient(r1!)).toMatchObject({ state: 'held', attempts: 0 });
    const [again] = await o.claimBatch(1, resumes, 1);
    expect(again).toMatchObject({ row: 1, attempts: 1 });
  });

  test('a settlement by a process that does not hold the row changes nothing', async () => {
    const where = await adapter.fresh();
    const o = await adapter.open(where);
    await o.createCampaign(campaign('CP1'), rows(1, 'CP1'));
    await o.claimBatch(1, later, 1);
    expect(await o.settle({ campaignId: 'CP1', row: 1 }, 2, { state: 'sent', messageSid: 'SMx' }, later)).toBe(false);
    // Another connection or instance, even under the same pid, does not hold it either.
    const other = await adapter.open(where);
    if (adapter.name === 'PostgreSQL') expect(await other.settle({ campaignId: 'CP1', row: 1 }, 1, { state: 'sent', messageSid: 'SMz' }, later)).toBe(false);
    expect(await o.settle({ campaignId: 'CP1', row: 1 }, 1, { state: 'sent', messageSid: 'SMy' }, later)).toBe(true);
    expect(await o.settle({ campaignId: 'CP1', row: 1 }, 1, { state: 'failed_send', error: 'late' }, later)).toBe(false);
    expect(await o.getRecipient({ campaignId: 'CP1', row: 1 })).toMatchObject({ state: 'sent', messageSid: 'SMy', error: null });
  });

  test('rows of a dead process become outcome_unknown (never pending); a live one keeps its rows', async () => {
    const o = await adapter.open(await adapter.fresh());
    await o.createCampaign(campaign('CP1'), rows(4, 'CP1'));
    await o.claimBatch(2, later, 111);
    await o.claimBatch(2, later, 222);
    expect(await o.releaseStale((pid) => pid === 222, later)).toBe(2);
    const counts = await o.counts('CP1');
    expect(counts).toMatchObject({ outcome_unknown: 2, sending: 2, pending: 0 });
    const unknown = await o.claimUnknown(10, later, 333);
    expect(unknown.map((r) => r.row)).toEqual([1, 2]);
    expect(await o.claimUnknown(10, later, 444)).toEqual([]); // already being reconciled
    // The reconciler dies too: its rows are let go, still unknown.
    expect(await o.releaseStale((pid) => pid === 222, later)).toBe(0);
    expect((await o.claimUnknown(10, later, 444)).map((r) => r.row)).toEqual([1, 2]);
  });

  test('completes only when no row is active; cancel sweeps pending and held rows', async () => {
    const o = await adapter.open(await adapter.fresh());
    await o.createCampaign(campaign('CP1'), rows(2, 'CP1'));
    const [r1] = await o.claimBatch(1, later, 1);
    await o.settle(r1!, 1, { state: 'sent', messageSid: 'SM1' }, later);
    expect(await o.completeIfDone('CP1')).toBe(false);
    const [r2] = await o.claimBatch(1, later, 1);
    await o.settle(r2!, 1, { state: 'held', nextAttemptAt: new Date(t0.getTime() + 3_600_000), error: 'quiet hours' }, later);
    expect(await o.completeIfDone('CP1')).toBe(false);
    expect(await o.setCampaignState('CP1', 'canceled')).toBe(true);
    expect(await o.counts('CP1')).toMatchObject({ sent: 1, canceled: 1, held: 0 });
    expect(await o.setCampaignState('CP1', 'running')).toBe(false);
    expect(await o.completeIfDone('CP1')).toBe(false); // canceled is not completed
  });

  test('repeated numbers are stored duplicate naming the first row, across import batches and within one', async () => {
    const o = await adapter.open(await adapter.fresh());
    const list: NewRecipient[] = [1, 2, 3, 4, 5, 6, 7].map((row) => {
      const to = ['+12125550001', '+12125550002', '+12125550003', '+12125550001', '+12125550002', '+12125550002', '+12125550004'][row - 1]!;
      return { row, to, variables: {}, state: 'pending', error: null, idempotencyKey: `CP1:${row}`, uniqueKey: to };
    });
    list.push({ row: 8, to: 'garbage', variables: {}, state: 'invalid', error: 'row 8: not a phone number', idempotencyKey: 'CP1:8', uniqueKey: null });
    await o.createCampaign(campaign('CP1'), list, { batchSize: 3 });
    const stored = await o.listRecipients('CP1', { limit: 10 });
    expect(stored.map((r) => [r.row, r.state, r.error])).toEqual([
      [1, 'pending', null],
      [2, 'pending', null],
      [3, 'pending', null],
      [4, 'duplicate', 'duplicate of row 1'],
      [5, 'duplicate', 'duplicate of row 2'],
      [6, 'duplicate', 'duplicate of row 2'],
      [7, 'pending', null],
      [8, 'invalid', 'row 8: not a phone number'],
    ]);
    expect(await o.listRecipients('CP1', { state: 'duplicate', afterRow: 4, limit: 1 })).toMatchObject([{ row: 5 }]);
  });

  test('a source that fails mid-import cancels the campaign with the reason', async () => {
    const o = await adapter.open(await adapter.fresh());
    async function* broken() {
      yield* rows(3, 'CP1');
      throw new Error('disk on fire');
    }
    await expect(o.createCampaign(campaign('CP1'), broken(), { batchSize: 2 })).rejects.toThrow('disk on fire');
    const c = await o.getCampaign('CP1');
    expect(c).toMatchObject({ state: 'canceled', loaded: false, error: 'recipients could not be imported: disk on fire' });
    expect(await o.claimBatch(10, later, 1)).toEqual([]);
  });

  test('an import its process did not finish is canceled once that process is gone', async () => {
    const o = await adapter.open(await adapter.fresh());
    let resolveGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (resolveGate = resolve));
    let reached: () => void = () => undefined;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    async function* slow() {
      yield* rows(2, 'CP1');
      reached();
      await gate; // the importing process "dies" here
    }
    const importing = o.createCampaign(campaign('CP1'), slow(), { batchSize: 1, loaderPid: 999_999_999 });
    await atGate;
    await o.createCampaign(campaign('CP2'), rows(1, 'CP2'), { loaderPid: 5 });
    expect(await o.releaseStale((pid) => pid === 5, later)).toBe(0);
    expect(await o.getCampaign('CP1')).toMatchObject({ state: 'canceled', loaded: false, error: expect.stringMatching(/import interrupted/) });
    expect((await o.counts('CP1')).canceled).toBe(2);
    expect(await o.getCampaign('CP2')).toMatchObject({ state: 'running', loaded: true });
    resolveGate();
    await importing;
    expect(await o.claimBatch(10, later, 1)).toMatchObject([{ campaignId: 'CP2' }]); // nothing of the canceled one
  });

  test("joins sent rows to the store's status callbacks (delivered / undelivered)", async () => {
    const where = await adapter.fresh();
    const o = await adapter.open(where);
    await o.createCampaign(campaign('CP1'), rows(3, 'CP1'));
    const claimed = await o.claimBatch(3, later, 1);
    for (const r of claimed) await o.settle(r, 1, { state: 'sent', messageSid: `SM${r.row}` }, later);
    await adapter.recordStatus(where, 'SM1', 'delivered', null);
    await adapter.recordStatus(where, 'SM2', 'undelivered', 30003);
    expect(await o.deliveryCounts('CP1')).toEqual({ delivered: 1, undelivered: 1, unknown: 1 });
    expect((await o.getRecipient({ campaignId: 'CP1', row: 2 }))?.deliveryStatus).toBe('undelivered');
  });

  it('insights: errors by code, throughput, spend, and the replies and opt-outs that came after the send', async () => {
    const file = outboxes.file();
    const o = outboxes.open(file);
    await o.createCampaign(campaign('CP1'), rows(4, 'CP1'));
    const claimed = await o.claimBatch(4, later, 1);
    const store = openSqliteStore(file);
    // Rows 1-3 are sent (each with its reservation's estimated cost); row 4 Twilio refused.
    for (const r of claimed.slice(0, 3)) {
      const reservation = await store.reserveSend({ to: r.to, bodyHash: null, duplicateSince: null, hourStart: later, dayStart: later }, () => ({
        kind: 'message', channel: 'sms', to: r.to, bodyHash: null, estimatedCost: 0.0079, at: later, sendAt: null,
        audit: { at: later, tool: 'campaign_send', arguments: {}, clientName: null, sessionId: null },
      }));
      await store.settleSend(reservation.id, { state: 'sent', sid: `SM${r.row}`, at: later });
      await o.settle(r, 1, { state: 'sent', messageSid: `SM${r.row}` }, later);
    }
    await o.settle(claimed[3]!, 1, { state: 'failed_send', error: 'Twilio refused it (21211)', errorCode: 21211 }, later);
    const afterSend = new Date(later.getTime() + 5000);
    const status = (sid: string, s: string, code: number | null) => ({
      event: { kind: 'message_status' as const, sid, status: s, idempotencyToken: null, receivedAt: afterSend, params: {} },
      change: { kind: 'message_status' as const, sid, status: s, errorCode: code, at: afterSend },
    });
    const reply = (sid: string, from: string, body: string, at: Date) => ({
      event: { kind: 'inbound_message' as const, sid, status: 'received', idempotencyToken: null, receivedAt: at, params: {} },
      change: {
        kind: 'inbound_message' as const,
        message: { messageSid: sid, from, to: '+14155550000', body, media: [], messagingServiceSid: null, channel: 'sms' as const, profileName: null, keyword: null, receivedAt: at },
        optOuts: [],
      },
    });
    await store.ingestBatch([
      status('SM1', 'delivered', null),
      status('SM2', 'undelivered', 30003),
      // A reply from row 1 after the send counts; one from before the campaign sent anything does not.
      reply('SMr1', claimed[0]!.to, 'yes', afterSend),
      reply('SMr0', claimed[0]!.to, 'earlier', new Date(0)),
    ]);
    await store.applyOptOut({ action: 'add', sender: '*', recipient: claimed[2]!.to, source: 'keyword', keyword: 'STOP' }, afterSend);
    await store.close();

    const insights = await o.insights('CP1', afterSend);
    expect(insights.errors).toEqual([
      { code: 21211, count: 1, example: 'Twilio refused it (21211)' },
      { code: 30003, count: 1, example: 'undelivered (error 30003)' },
    ]);
    expect(insights.spentUsd).toBeCloseTo(0.0237, 6);
    expect(insights.replies).toBe(1);
    expect(insights.optOuts).toBe(1);
    expect(insights.sentLastMinute).toBe(3);
    expect(insights.firstSentAt).not.toBeNull();
    expect(insights.lastSentAt!.getTime()).toBeGreaterThanOrEqual(insights.firstSentAt!.getTime());
    // A minute later nothing counts as recent any more.
    expect((await o.insights('CP1', new Date(afterSend.getTime() + 120_000))).sentLastMinute).toBe(0);
  });
});
