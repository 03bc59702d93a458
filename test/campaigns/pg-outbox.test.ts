/**
 * What only the PostgreSQL outbox has (the shared contract is in outbox.test.ts): one
 * graphile-worker job per recipient, kept in step with the row in the same commits; instances
 * that die are taken over (their rows reconciled, never pending again) and one that was only
 * presumed dead is fenced; insights over the store's tables, or zeros without them.
 */
import { describe, expect, it } from 'vitest';
import type { DueRow, NewRecipient } from '../../src/store/outbox.js';
import { heartbeat, listInstances } from '../../src/store/postgres/instances.js';
import { postgresMissing } from '../helpers/pg-temp.js';
import { LATER as later, newCampaign as campaign, pendingRows as rows, T0 as t0 } from './fakes.js';
import { pgOutboxes, waitFor, type PgInstance } from './pg-fixtures.js';

const noPostgres = await postgresMissing();
const pg = pgOutboxes();


interface JobRow {
  task_identifier: string;
  run_at: Date | number;
  priority: number;
  key: string;
}

async function jobsOf(instance: PgInstance, campaignId: string): Promise<Map<number, JobRow>> {
  const { rows: jobs } = await instance.pool.query<JobRow>(
    "SELECT task_identifier, run_at, priority, key FROM graphile_worker.jobs WHERE key LIKE 'campaign-row:' || $1 || ':%'",
    [campaignId],
  );
  return new Map(jobs.map((j) => [Number(j.key.split(':').at(-1)), j]));
}

/** A gate an import waits at, as if its process stopped there. */
function gated(n: number, id: string) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let arrived: () => void = () => undefined;
  const atGate = new Promise<void>((resolve) => (arrived = resolve));
  async function* source() {
    yield* rows(n, id);
    arrived();
    await gate;
  }
  return { source: source(), atGate, open };
}

describe.skipIf(noPostgres)('PostgreSQL outbox: one job per recipient', () => {
  it('every pending row has its job, parked while the campaign imports and due once it is loaded', async () => {
    const a = await pg.open(await pg.fresh(), 'a');
    const importing = gated(3, 'CP1');
    const invalid: NewRecipient = { row: 4, to: 'x', variables: {}, state: 'invalid', error: 'row 4: not a number', idempotencyKey: 'CP1:4', uniqueKey: null };
    const created = a.outbox.createCampaign(
      campaign('CP1'),
      (async function* () {
        yield* importing.source;
        yield invalid;
      })(),
      { batchSize: 2 },
    );
    await importing.atGate;
    const parked = await jobsOf(a, 'CP1');
    expect([...parked.keys()].sort()).toEqual([1, 2]); // the third is not committed yet: its batch is not full
    expect([...parked.values()].every((j) => j.run_at === Infinity && j.task_identifier === 'campaign_send')).toBe(true);
    importing.open();
    await created;
    const due = await jobsOf(a, 'CP1');
    expect([...due.keys()].sort()).toEqual([1, 2, 3]); // none for the invalid row
    expect(due.get(1)!.key).toBe('campaign-row:CP1:1');
    // Due when the rows are (created_at), a microsecond apart so they go in list order.
    expect((due.get(1)!.run_at as Date).getTime()).toBeGreaterThanOrEqual(t0.getTime());
    expect((due.get(3)!.run_at as Date).getTime()).toBeLessThan(t0.getTime() + 1000);
  });

  it("a settlement moves the row's job in the same commit: a retry to its time, an unknown outcome to a reconcile job first in line", async () => {
    const a = await pg.open(await pg.fresh(), 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(3, 'CP1'));
    const [r1, r2, r3] = await a.outbox.claimBatch(3, later, 1);
    const retryAt = new Date(later.getTime() + 30_000);
    await a.outbox.settle(r1!, 1, { state: 'pending', nextAttemptAt: retryAt, error: 'HTTP 429' }, later);
    const reconcileAt = new Date(later.getTime() + 15_000);
    await a.outbox.settle(r2!, 1, { state: 'outcome_unknown', nextAttemptAt: reconcileAt, error: 'the answer was lost' }, later);
    const jobs = await jobsOf(a, 'CP1');
    expect(jobs.get(1)).toMatchObject({ task_identifier: 'campaign_send', run_at: retryAt });
    expect(jobs.get(2)).toMatchObject({ task_identifier: 'campaign_reconcile', run_at: reconcileAt, priority: -1 });
    expect(jobs.size).toBe(3); // still one per row
    // Paused: a row settled pending or held waits parked, like the rows waiting already.
    await a.outbox.setCampaignState('CP1', 'paused');
    await a.outbox.settle(r3!, 1, { state: 'held', nextAttemptAt: later, error: 'quiet hours' }, later);
    const paused = await jobsOf(a, 'CP1');
    expect([1, 2, 3].map((row) => paused.get(row)?.run_at)).toEqual([Infinity, reconcileAt, Infinity]);
  });

  it('a row settled pending after another instance canceled its campaign is canceled, not pending again', async () => {
    const url = await pg.fresh();
    const [a, b] = [await pg.open(url, 'a'), await pg.open(url, 'b')];
    await a.outbox.createCampaign(campaign('CP1'), rows(2, 'CP1'));
    const [r1] = await a.outbox.claimBatch(1, later, 1);
    expect(await b.outbox.setCampaignState('CP1', 'canceled')).toBe(true);
    // a still thinks the campaign runs: a 429 sends the row back to wait.
    expect(await a.outbox.settle(r1!, 1, { state: 'pending', nextAttemptAt: later, error: 'HTTP 429' }, later)).toBe(true);
    expect(await a.outbox.getRecipient(r1!)).toMatchObject({ state: 'canceled', error: 'campaign canceled', nextAttemptAt: null });
    expect(await a.outbox.counts('CP1')).toMatchObject({ canceled: 2, pending: 0 });
  });

  it('pausing parks the jobs, resuming makes them due again, canceling removes them', async () => {
    const a = await pg.open(await pg.fresh(), 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(4, 'CP1'));
    await a.outbox.setCampaignState('CP1', 'paused');
    expect([...(await jobsOf(a, 'CP1')).values()].map((j) => j.run_at)).toEqual([Infinity, Infinity, Infinity, Infinity]);
    await a.outbox.setCampaignState('CP1', 'running');
    expect([...(await jobsOf(a, 'CP1')).values()].every((j) => j.run_at instanceof Date && j.run_at.getTime() < later.getTime())).toBe(true);
    await a.outbox.claimBatch(1, later, 1);
    await a.outbox.setCampaignState('CP1', 'canceled');
    // Row 1 is being sent: its job stays until its holder settles it; the three canceled rows have none.
    expect([...(await jobsOf(a, 'CP1')).keys()]).toEqual([1]);
  });
});

describe.skipIf(noPostgres)('PostgreSQL outbox: instances that stop', () => {
  it("a dead instance's rows are taken over: sending ones reconciled (never pending), reconciling ones let go, its import canceled", async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(4, 'CP1'));
    const [r1, r2, r3] = await a.outbox.claimBatch(3, later, 7);
    await a.outbox.settle(r3!, 7, { state: 'outcome_unknown', nextAttemptAt: later, error: 'the answer was lost' }, later);
    expect(await a.outbox.claimUnknown(1, later, 7)).toMatchObject([{ row: 3 }]);
    const importing = gated(2, 'CP2');
    const stuck = a.outbox.createCampaign(campaign('CP2'), importing.source, { batchSize: 1 });
    await importing.atGate;
    const b = await pg.open(url, 'b');
    a.outbox.abandon(); // no heartbeat from now on; nothing released
    await waitFor(async () => (await b.outbox.getRecipient(r1!))?.state === 'outcome_unknown', "b to take over a's rows");
    for (const r of [r1!, r2!]) {
      expect(await b.outbox.getRecipient(r)).toMatchObject({ state: 'outcome_unknown', ownerPid: null, error: 'the instance sending it stopped before Twilio answered' });
    }
    expect(await b.outbox.getRecipient(r3!)).toMatchObject({ state: 'outcome_unknown', ownerPid: null, error: 'the answer was lost' });
    const jobs = await jobsOf(b, 'CP1');
    expect([1, 2, 3].map((row) => jobs.get(row)?.task_identifier)).toEqual(['campaign_reconcile', 'campaign_reconcile', 'campaign_reconcile']);
    expect(await b.outbox.getCampaign('CP2')).toMatchObject({ state: 'canceled', error: expect.stringMatching(/import interrupted/) });
    // Due for reconciliation from the takeover on (the takeover's own clock: now).
    expect((await b.outbox.claimUnknown(10, new Date(), 1)).map((r) => r.row)).toEqual([1, 2, 3]);
    const instances = await listInstances(b.pool, 1000);
    expect(instances.map((i) => [i.id, i.status, i.takenOverBy])).toEqual([
      ['a', 'taken_over', 'b'],
      ['b', 'live', null],
    ]);
    importing.open();
    await expect(stuck).rejects.toThrow(/abandoned/);
  });

  it('an instance only presumed dead (no heartbeat for longer than the TTL) is fenced: it claims and settles nothing more', async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'a', { heartbeatMs: 60_000 }); // it will not heartbeat during this test
    await a.outbox.createCampaign(campaign('CP1'), rows(3, 'CP1'));
    const [r1] = await a.outbox.claimBatch(1, later, 1);
    const b = await pg.open(url, 'b');
    await waitFor(async () => (await b.outbox.getRecipient(r1!))?.state === 'outcome_unknown', "b to take over a's rows");
    expect(await a.outbox.settle(r1!, 1, { state: 'sent', messageSid: 'SMlate' }, later)).toBe(false);
    expect(await a.outbox.claimBatch(10, later, 1)).toEqual([]);
    expect(await a.outbox.claimUnknown(10, later, 1)).toEqual([]);
    expect(await heartbeat(a.pool, 'a')).toBe(false);
    expect((await b.outbox.counts('CP1')).pending).toBe(2); // b has them now
  });

  it('a claim racing a takeover of its instance waits for it, and then claims nothing', async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(2, 'CP1'));
    // Another instance is in the middle of taking a over: it holds a's row, as lockForTakeover does.
    const other = await pg.databases.pool(url, { max: 1 }).connect();
    await other.query('BEGIN');
    await other.query("SELECT 1 FROM server_instances WHERE id = 'a' FOR UPDATE");
    let settled = false;
    const claim = a.outbox.claimBatch(10, later, 1).finally(() => (settled = true));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false); // waiting for the takeover
      await other.query("UPDATE server_instances SET state = 'taken_over', taken_over_by = 'b' WHERE id = 'a'");
      await other.query('COMMIT');
    } finally {
      other.release(true);
    }
    expect(await claim).toEqual([]);
    expect((await a.outbox.counts('CP1')).pending).toBe(2);
  });

  it('a new process under the id of a dead one takes over its previous life at once, without waiting for the TTL', async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'a', { instanceTtlMs: 3_600_000 });
    await a.outbox.createCampaign(campaign('CP1'), rows(2, 'CP1'));
    await a.outbox.claimBatch(2, later, 1);
    a.outbox.abandon();
    const again = await pg.open(url, 'a', { instanceTtlMs: 3_600_000 });
    expect(await again.outbox.counts('CP1')).toMatchObject({ outcome_unknown: 2, sending: 0 });
    expect((await listInstances(again.pool, 3_600_000)).map((i) => [i.id, i.status])).toEqual([['a', 'live']]);
  });

  it('closing leaves nothing held: rows still claimed are to be reconciled, and the instance is stopped', async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(2, 'CP1'));
    await a.outbox.claimBatch(1, later, 1);
    await a.outbox.close();
    const b = await pg.open(url, 'b');
    expect(await b.outbox.counts('CP1')).toMatchObject({ outcome_unknown: 1, pending: 1, sending: 0 });
    expect((await listInstances(b.pool, 1000)).find((i) => i.id === 'a')?.status).toBe('stopped');
  });
});

describe.skipIf(noPostgres)('PostgreSQL outbox: rows handed out (push)', () => {
  const push = (handler: (due: DueRow) => Promise<void>) => ({ handler, options: { ownerPid: 1, concurrency: 2, now: () => Date.now() } });

  it('hands each due row over claimed, once; a row handed out and never settled is reconciled, never pending again', async () => {
    const a = await pg.open(await pg.fresh(), 'a');
    await a.outbox.createCampaign(campaign('CP1'), rows(3, 'CP1'));
    const seen: string[] = [];
    const { handler, options } = push(async (due) => {
      seen.push(`${due.kind} ${due.row.row} ${due.row.state}`);
      if (due.row.row === 2 && due.kind === 'send') return; // "forgets" to settle: it may have gone out
      await a.outbox.settle(due.row, 1, due.kind === 'send' ? { state: 'sent', messageSid: `SM${due.row.row}` } : { state: 'canceled', error: 'test' }, new Date());
    });
    await a.outbox.startPush(handler, options);
    await waitFor(async () => (await a.outbox.counts('CP1')).sent === 2 && seen.includes('reconcile 2 outcome_unknown'), 'two sent and row 2 reconciled');
    await a.outbox.stopPush();
    expect(seen.sort()).toEqual(['reconcile 2 outcome_unknown', 'send 1 sending', 'send 2 sending', 'send 3 sending']);
    expect(await a.outbox.getRecipient({ campaignId: 'CP1', row: 2 })).toMatchObject({ state: 'canceled', attempts: 1 });
  });

  it('an instance that finds itself taken over withdraws the rows it handed out (their signal aborts) and starts a new life', async () => {
    const url = await pg.fresh();
    // It heartbeats every 1.5 s but the others call it dead after 1 s: it is taken over between two beats.
    const a = await pg.open(url, 'a', { heartbeatMs: 1500 });
    await a.outbox.createCampaign(campaign('CP1'), rows(1, 'CP1'));
    let withdrawn = false;
    const { handler, options } = push(
      (due) =>
        new Promise<void>((resolve) => {
          due.signal!.addEventListener('abort', () => {
            withdrawn = true;
            resolve();
          });
        }),
    );
    await a.outbox.startPush(handler, options);
    await waitFor(async () => (await a.outbox.counts('CP1')).sending === 1, 'the row to be handed out');
    const b = await pg.open(url, 'b');
    await waitFor(() => withdrawn, 'the row to be withdrawn from the handler');
    expect(await b.outbox.getRecipient({ campaignId: 'CP1', row: 1 })).toMatchObject({ state: 'outcome_unknown', ownerPid: null });
    await waitFor(async () => (await listInstances(b.pool, 1000)).find((i) => i.id === 'a')?.status === 'live', 'a to start a new life');
    await a.outbox.stopPush();
  });
});

describe.skipIf(noPostgres)('PostgreSQL outbox: insights', () => {
  async function sentCampaign(instance: PgInstance) {
    await instance.outbox.createCampaign(campaign('CP1'), rows(4, 'CP1'));
    const claimed = await instance.outbox.claimBatch(4, later, 1);
    const at = (s: number) => new Date(later.getTime() + s * 1000);
    await instance.outbox.settle(claimed[0]!, 1, { state: 'sent', messageSid: 'SM1' }, at(1));
    await instance.outbox.settle(claimed[1]!, 1, { state: 'sent', messageSid: 'SM2' }, at(50));
    await instance.outbox.settle(claimed[2]!, 1, { state: 'failed_send', error: 'Twilio refused: invalid To', errorCode: 21211 }, at(2));
    await instance.outbox.settle(claimed[3]!, 1, { state: 'failed_send', error: 'gave up after 5 attempts: HTTP 503' }, at(3));
    return at;
  }

  it('without the store tables: errors and send times from the rows, the rest zero', async () => {
    const a = await pg.open(await pg.fresh(), 'a');
    const at = await sentCampaign(a);
    const insights = await a.outbox.insights('CP1', at(90));
    expect(insights).toEqual({
      errors: [
        { code: 21211, count: 1, example: 'Twilio refused: invalid To' },
        { code: null, count: 1, example: 'gave up after 5 attempts: HTTP 503' },
      ],
      firstSentAt: at(1),
      lastSentAt: at(50),
      sentLastMinute: 1,
      spentUsd: 0,
      replies: 0,
      optOuts: 0,
    });
  });

  it("with the store's tables: undelivered callbacks, spend, replies and opt-outs after the send", async () => {
    const url = await pg.fresh();
    const admin = pg.databases.pool(url, { max: 1 });
    // Stand-ins with the PostgreSQL store's columns (store-migrations.ts, another branch) for what insights read.
    await admin.query(`
      CREATE TABLE status_current (kind text NOT NULL, sid text NOT NULL, status text NOT NULL, error_code integer, updated_at timestamptz NOT NULL, PRIMARY KEY (kind, sid));
      CREATE TABLE send_reservations (id bigserial PRIMARY KEY, sid text, state text NOT NULL, estimated_cost double precision NOT NULL, at timestamptz NOT NULL);
      CREATE TABLE inbound_messages (message_sid text PRIMARY KEY, from_number text NOT NULL, to_number text NOT NULL, received_at timestamptz NOT NULL);
      CREATE TABLE opt_out_audit (id bigserial PRIMARY KEY, action text NOT NULL, sender text NOT NULL, recipient text NOT NULL, at timestamptz NOT NULL);`);
    const a = await pg.open(url, 'a');
    const at = await sentCampaign(a);
    const [one, two] = ['+12125550001', '+12125550002'];
    await admin.query(`INSERT INTO status_current VALUES ('message', 'SM1', 'delivered', NULL, $1), ('message', 'SM2', 'undelivered', 30003, $1)`, [at(60)]);
    await admin.query(`INSERT INTO send_reservations (sid, state, estimated_cost, at) VALUES ('SM1', 'sent', 0.0079, $1), ('SM2', 'sent', 0.0079, $1), ('SMother', 'sent', 1, $1)`, [at(0)]);
    await admin.query(`INSERT INTO inbound_messages VALUES ('IM1', $1, '+14155550000', $3), ('IM2', $1, '+14155550000', $4), ('IM3', $2, '+14155550000', $3)`, [one, two, at(5), at(0)]);
    await admin.query(`INSERT INTO opt_out_audit (action, sender, recipient, at) VALUES ('add', '*', $1, $3), ('add', '*', $2, $4), ('remove', '*', $1, $3)`, [one, two, at(6), at(10)]);
    const insights = await a.outbox.insights('CP1', at(90));
    expect(insights.errors).toEqual([
      { code: 21211, count: 1, example: 'Twilio refused: invalid To' },
      { code: 30003, count: 1, example: 'message undelivered (error 30003)' },
      { code: null, count: 1, example: 'gave up after 5 attempts: HTTP 503' },
    ]);
    expect(insights.spentUsd).toBeCloseTo(0.0158, 10);
    expect(insights.replies).toBe(1); // IM1 came after SM1; IM2 before it; IM3 before SM2
    expect(insights.optOuts).toBe(1); // +…0001 after its send; +…0002's opt-out came before SM2 (at 50 s)
  });
});
