/**
 * Which rows a claim hands out when several campaigns have due rows (written against the
 * Outbox port): the earliest due first across the campaigns that may send, never a row of a
 * campaign that is still loading, paused or waiting for its resume time, however many of
 * its rows are due before the others'.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { NewRecipient, Outbox } from '../../src/store/outbox.js';
import { newCampaign as campaign, pendingRows as rows, T0 as t0, tempOutboxes } from './fakes.js';

const outboxes = tempOutboxes();
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const claimed = async (o: Outbox, n: number, now: Date) => (await o.claimBatch(n, now, 1)).map((r) => `${r.campaignId}:${r.row}`);

describe('claims across campaigns', () => {
  it('earliest due first among the campaigns that may send; paused and waiting ones are passed over', async () => {
    const o = outboxes.open(outboxes.file());
    // Created (so due) in this order: PAUSED, WAITING, Z, Y (not their names' order).
    await o.createCampaign(campaign('PAUSED', at(-20)), rows(50, 'PAUSED', '212'));
    await o.createCampaign(campaign('WAITING', at(-10)), rows(50, 'WAITING', '213'));
    await o.createCampaign(campaign('Z', at(0)), rows(2, 'Z', '214'));
    await o.createCampaign(campaign('Y', at(1)), rows(3, 'Y', '215'));
    await o.setCampaignState('PAUSED', 'paused');
    await o.setCampaignResumeAt('WAITING', at(100));
    // Handed out sorted by campaign and row; which rows: Z's two (due first), then Y's first.
    expect(await claimed(o, 3, at(10))).toEqual(['Y:1', 'Z:1', 'Z:2']);
    expect(await claimed(o, 10, at(10))).toEqual(['Y:2', 'Y:3']);
    expect(await claimed(o, 10, at(10))).toEqual([]);
    // Once it may send again, the waiting campaign's rows (due earliest) come first.
    expect(await claimed(o, 2, at(100))).toEqual(['WAITING:1', 'WAITING:2']);
    await o.setCampaignState('PAUSED', 'running');
    expect(await claimed(o, 2, at(100))).toEqual(['PAUSED:1', 'PAUSED:2']);
  });

  it('a campaign still loading is not claimed from, even when all its rows are due', async () => {
    const file = outboxes.file();
    const o = outboxes.open(file);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slowRows(): AsyncGenerator<NewRecipient> {
      yield* rows(600, 'LOADING', '216');
      await gate;
    }
    const loading = o.createCampaign(campaign('LOADING', at(0)), slowRows(), { batchSize: 100 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await claimed(o, 5, at(10))).toEqual([]);
    release();
    await loading;
    expect(await claimed(o, 2, at(10))).toEqual(['LOADING:1', 'LOADING:2']);
  });

  it('a claim that finds nothing does not take the write lock (another server holding it is not waited for)', async () => {
    const file = outboxes.file();
    const o = outboxes.open(file);
    await o.createCampaign(campaign('PAUSED', at(0)), rows(5, 'PAUSED', '217'));
    await o.setCampaignState('PAUSED', 'paused');
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      // Waiting for that lock would end in SQLITE_BUSY: nothing to take answers at once.
      expect(await o.claimBatch(5, at(10), 1)).toEqual([]);
      expect(await o.claimUnknown(5, at(10), 1)).toEqual([]);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    await o.setCampaignState('PAUSED', 'running');
    expect(await claimed(o, 1, at(10))).toEqual(['PAUSED:1']);
  });
});
