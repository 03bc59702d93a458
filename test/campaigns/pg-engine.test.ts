/**
 * The campaign engine on the PostgreSQL outbox, where graphile-worker hands the engine its
 * rows: each eligible recipient reached exactly once, retries no sooner than Twilio asked,
 * unknown outcomes reconciled before any retry, pause / resume / cancel; then several
 * instances on one database: the work shared, a crashed instance's rows taken over and
 * reconciled (never resent blindly), and one rate limit for all of them.
 *
 * The job queue runs on real time (it compares run_at with the clock of the Node process),
 * so these tests use the real clock with short delays. They assert on what happened (counts,
 * order, lower bounds a scheduler can never beat), never on how fast.
 */
import { describe, expect, it } from 'vitest';
import { CampaignEngine, type CampaignEngineOptions } from '../../src/campaigns/engine.js';
import { realClock, type CampaignSend, type CampaignSender, type CampaignSpec, type RecipientInput } from '../../src/campaigns/types.js';
import { listInstances } from '../../src/store/postgres/instances.js';
import { postgresMissing } from '../helpers/pg-temp.js';
import { FakeSender, numbers, type Fault } from './fakes.js';
import { pgOutboxes, sleep, waitFor, type PgInstance } from './pg-fixtures.js';

const noPostgres = await postgresMissing();
const pg = pgOutboxes();

const spec = (recipients: RecipientInput[], extra: Partial<CampaignSpec> = {}): CampaignSpec => ({
  name: 'spring sale',
  channel: 'sms',
  template: 'Hi {{ name }}, 20% off today.',
  from: '+14155550000',
  ratePerSecond: 0,
  recipients: { kind: 'inline', recipients },
  ...extra,
});
const people = (n: number, start = 0) => numbers(n, start).map((to, i) => ({ to, variables: { name: `P${i}` } }));

const engineOptions = (instance: PgInstance, extra: CampaignEngineOptions = {}): CampaignEngineOptions => ({
  clock: realClock,
  random: () => 0.5,
  reconcileDelayMs: 200,
  backoffBaseMs: 200,
  concurrency: 4,
  rateLimits: instance.outbox.rateLimits,
  ...extra,
});

async function setup(script?: (m: CampaignSend, n: number) => Fault | undefined, options: CampaignEngineOptions = {}) {
  const url = await pg.fresh();
  const instance = await pg.open(url, 'solo');
  const sender = new FakeSender(realClock, script);
  const engine = new CampaignEngine(instance.outbox, sender, engineOptions(instance, options));
  return { url, instance, outbox: instance.outbox, sender, engine };
}

async function completion(engine: CampaignEngine, id: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await engine.get(id))?.state === 'completed', `campaign ${id} to complete`, timeoutMs);
}

describe.skipIf(noPostgres)('campaign engine on the PostgreSQL outbox', () => {
  it('sends each eligible recipient its own text once, stores the rest with their reasons, and completes', async () => {
    const { engine, sender, outbox } = await setup();
    await engine.start();
    const created = await engine.create(
      spec([...people(20), { to: '+1 (415) 555-1000', variables: { name: 'again' } }, { to: 'not a number', variables: { name: 'x' } }, { to: '+14155559999', variables: {} }]),
    );
    await completion(engine, created.id);
    expect(sender.delivered).toHaveLength(20);
    expect([...sender.perRecipient().values()].every((n) => n === 1)).toBe(true);
    expect(sender.delivered.find((d) => d.to === numbers(1)[0])?.body).toBe('Hi P0, 20% off today.');
    const report = await engine.get(created.id);
    expect(report?.counts).toMatchObject({ sent: 20, duplicate: 1, invalid: 2, pending: 0, sending: 0 });
    expect((await outbox.getRecipient({ campaignId: created.id, row: 21 }))?.error).toBe('duplicate of row 1');
    await engine.stop();
  });

  it('retries a 429 no sooner than Retry-After, and a 500 with backoff', async () => {
    const [a, b] = numbers(2);
    const { engine, sender } = await setup(
      (m, n) => {
        if (m.to === a && n === 1) return { kind: 'http', status: 429, code: 20429, retryAfterSeconds: 1 };
        if (m.to === b && n <= 2) return { kind: 'http', status: 500 };
        return undefined;
      },
      { backoffBaseMs: 400 },
    );
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await completion(engine, created.id);
    const times = (to: string) => sender.attempts.filter((x) => x.to === to).map((x) => x.at);
    const [a1, a2] = times(a!);
    expect(a2! - a1!).toBeGreaterThanOrEqual(1000);
    // Backoff with jitter 0.5: 300 ms then 600 ms (base 400 ms, equal jitter).
    const [b1, b2, b3] = times(b!);
    expect(b2! - b1!).toBeGreaterThanOrEqual(300);
    expect(b3! - b2!).toBeGreaterThanOrEqual(600);
    expect(sender.perRecipient().get(a!)).toBe(1);
    expect(sender.perRecipient().get(b!)).toBe(1);
    await engine.stop();
  });

  it('reconciles an unknown outcome before anything else: sent once whether or not the lost attempt went out', async () => {
    const [wentOut, didNot] = numbers(2);
    const log: string[] = [];
    const fake = new FakeSender(realClock, (m, n) => {
      if (n > 1) return undefined;
      if (m.to === wentOut) return { kind: 'unknown-sent' };
      if (m.to === didNot) return { kind: 'unknown-not-sent' };
      return undefined;
    });
    const sender: CampaignSender = {
      send: (m) => (log.push(`send ${m.to} #${m.attempt}`), fake.send(m)),
      findSent: (m, since) => (log.push(`find ${m.to}`), fake.findSent(m, since)),
    };
    const url = await pg.fresh();
    const instance = await pg.open(url, 'solo');
    const engine = new CampaignEngine(instance.outbox, sender, engineOptions(instance));
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await completion(engine, created.id);
    expect(fake.perRecipient().get(wentOut!)).toBe(1);
    expect(fake.perRecipient().get(didNot!)).toBe(1);
    expect(log.filter((l) => l.includes(wentOut!))).toEqual([`send ${wentOut} #1`, `find ${wentOut}`]); // found: never sent again
    expect(log.filter((l) => l.includes(didNot!))).toEqual([`send ${didNot} #1`, `find ${didNot}`, `send ${didNot} #2`]);
    const row1 = await instance.outbox.getRecipient({ campaignId: created.id, row: 1 });
    expect(row1).toMatchObject({ state: 'sent', messageSid: fake.delivered.find((d) => d.to === wentOut)!.sid });
    await engine.stop();
  });

  it('a cap refusal holds the row until the cap resets, and the rest of the campaign waits with it', async () => {
    let resets: Date | undefined; // fixed at the first refusal: setting up took real time
    let capped = true;
    const { engine, sender, outbox } = await setup(
      () => {
        if (!capped) return undefined;
        resets ??= new Date(Date.now() + 1500);
        return { kind: 'refuse', rule: 'caps', extra: { cap: 'messages_per_hour', resets_at: resets.toISOString() } };
      },
      { concurrency: 1 },
    );
    await engine.start();
    const created = await engine.create(spec(people(5)));
    // Which row goes first is the queue's choice (jobs due at one moment run in any order).
    await waitFor(async () => (await outbox.counts(created.id)).held === 1, 'a row to be held');
    capped = false;
    await completion(engine, created.id);
    expect(sender.attempts).toHaveLength(6); // the one refusal, then each once: none tried against the known cap
    expect(sender.delivered).toHaveLength(5);
    expect(Math.min(...sender.delivered.map((d) => d.at))).toBeGreaterThanOrEqual(resets!.getTime());
    await engine.stop();
  });

  it('pauses, resumes and cancels (the jobs of canceled rows are gone)', async () => {
    const { engine, sender, outbox, instance } = await setup(undefined, { concurrency: 1 });
    await engine.start();
    const created = await engine.create(spec(people(10), { ratePerSecond: 5 }));
    await waitFor(() => sender.delivered.length >= 2, 'two sends');
    await engine.pause(created.id);
    await waitFor(async () => (await outbox.counts(created.id)).sending === 0, 'the send in flight to finish');
    const afterPause = sender.delivered.length;
    await sleep(800); // four slots at 5/s: nothing may go out meanwhile
    expect(sender.delivered.length).toBe(afterPause);
    expect(afterPause).toBeLessThan(10);
    await engine.resume(created.id);
    await waitFor(() => sender.delivered.length > afterPause, 'a send after resuming');
    await engine.cancel(created.id);
    await waitFor(async () => (await outbox.counts(created.id)).sending === 0, 'the send in flight to finish');
    const counts = await outbox.counts(created.id);
    expect(counts.canceled + counts.sent).toBe(10);
    expect(counts.canceled).toBeGreaterThan(0);
    expect(sender.delivered.length).toBe(counts.sent);
    expect((await engine.get(created.id))?.state).toBe('canceled');
    // The job of the row that was in flight ends as its task returns, just after the settlement.
    const jobsLeft = async () =>
      (await instance.pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key LIKE 'campaign-row:' || $1 || ':%'", [created.id])).rows[0].n as number;
    await waitFor(async () => (await jobsLeft()) === 0, 'no job left for the canceled campaign', 5000);
    await engine.stop();
  });
});

describe.skipIf(noPostgres)('several instances on one database', () => {
  it('two instances work one 500-row campaign: each row sent exactly once, both did work', async () => {
    const url = await pg.fresh();
    const [a, b] = [await pg.open(url, 'instance-a'), await pg.open(url, 'instance-b')];
    const sender = new FakeSender(realClock);
    const byInstance = { a: 0, b: 0 };
    const counting = (name: 'a' | 'b'): CampaignSender => ({
      send: (m) => (byInstance[name]++, sender.send(m)),
      findSent: (m, since) => sender.findSent(m, since),
    });
    const engineA = new CampaignEngine(a.outbox, counting('a'), engineOptions(a));
    const engineB = new CampaignEngine(b.outbox, counting('b'), engineOptions(b));
    await engineA.start();
    await engineB.start();
    const created = await engineA.create(spec(people(500)));
    await completion(engineB, created.id, 60_000);
    expect(sender.delivered).toHaveLength(500);
    expect(sender.perRecipient().size).toBe(500);
    expect([...sender.perRecipient().values()].filter((n) => n !== 1)).toEqual([]);
    expect(byInstance.a).toBeGreaterThan(0);
    expect(byInstance.b).toBeGreaterThan(0);
    expect(byInstance.a + byInstance.b).toBe(500);
    await engineA.stop();
    await engineB.stop();
  });

  it('an instance killed mid-campaign: the other takes over, reconciles what it left sending, and every eligible row is sent exactly once', async () => {
    const url = await pg.fresh();
    const [a, b] = [await pg.open(url, 'instance-a'), await pg.open(url, 'instance-b')];
    const sender = new FakeSender(realClock);
    const found: string[] = [];
    const sentByB: string[] = [];
    const hung: Array<{ to: string; reachedTwilio: boolean }> = [];
    let aSends = 0;
    // A sends normally for a while, then its next four sends "hang" as the process dies
    // holding them: two had reached Twilio, two had not.
    const senderA: CampaignSender = {
      async send(m) {
        aSends++;
        if (aSends > 30 && hung.length < 4) {
          const reachedTwilio = hung.length % 2 === 0;
          hung.push({ to: m.to, reachedTwilio });
          if (reachedTwilio) await sender.send(m);
          return new Promise(() => undefined);
        }
        return sender.send(m);
      },
      findSent: (m, since) => sender.findSent(m, since),
    };
    const senderB: CampaignSender = {
      send: (m) => (sentByB.push(m.to), sender.send(m)),
      findSent: async (m, since) => {
        found.push(m.to);
        return sender.findSent(m, since);
      },
    };
    const engineA = new CampaignEngine(a.outbox, senderA, engineOptions(a));
    const engineB = new CampaignEngine(b.outbox, senderB, engineOptions(b));
    await engineA.start();
    await engineB.start();
    const created = await engineA.create(spec(people(200), { ratePerSecond: 100 }));
    await waitFor(() => hung.length === 4, 'instance A to hang on four sends');
    expect((await b.outbox.listRecipients(created.id, { state: 'sending', limit: 500 })).length).toBeGreaterThanOrEqual(4);
    await pg.crash(url, a);
    await completion(engineB, created.id, 60_000);
    const per = sender.perRecipient();
    expect(per.size).toBe(200);
    expect([...per.values()].filter((n) => n !== 1)).toEqual([]);
    // What A left sending was reconciled by B before anything else: found, or sent once after looking.
    for (const h of hung) expect(found).toContain(h.to);
    for (const h of hung.filter((x) => x.reachedTwilio)) expect(sentByB).not.toContain(h.to);
    for (const h of hung.filter((x) => !x.reachedTwilio)) expect(sentByB.filter((to) => to === h.to)).toHaveLength(1);
    const statuses = await listInstances(b.pool, 1000);
    expect(statuses.find((s) => s.id === 'instance-a')).toMatchObject({ status: 'taken_over', takenOverBy: 'instance-b' });
    // Nothing of the campaign is left in the queue (not even the dead instance's old jobs).
    const jobsLeft = async () => (await b.pool.query('SELECT count(*)::int AS n FROM graphile_worker.jobs')).rows[0].n as number;
    await waitFor(async () => (await jobsLeft()) === 0, 'an empty queue', 5000);
    await engineB.stop();
  });

  it('a job the dead instance had locked before it could claim its row runs again on the survivor', async () => {
    const url = await pg.fresh();
    const a = await pg.open(url, 'instance-a');
    const sender = new FakeSender(realClock);
    const setupEngine = new CampaignEngine(a.outbox, sender, engineOptions(a));
    const created = await setupEngine.create(spec(people(1)));
    // Another transaction holds the row, so A's claim waits on it with the job locked.
    const blocker = await pg.databases.pool(url, { max: 1 }).connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 FOR UPDATE', [created.id]);
    const engineA = new CampaignEngine(a.outbox, sender, engineOptions(a));
    await engineA.start();
    await waitFor(async () => (await blocker.query('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL')).rows[0].n === 1, 'A to lock the job');
    await pg.crash(url, a);
    await blocker.query('ROLLBACK');
    blocker.release();
    const b = await pg.open(url, 'instance-b');
    const engineB = new CampaignEngine(b.outbox, sender, engineOptions(b));
    await engineB.start();
    await completion(engineB, created.id);
    expect(sender.delivered.map((d) => d.to)).toEqual(numbers(1));
    await engineB.stop();
  });

  it('an instance presumed dead sends nothing it still held: its engine drops the row waiting for a rate slot, the survivor reconciles and sends it once', async () => {
    const url = await pg.fresh();
    // A beats every 1.5 s, the others call it dead after 1 s: it is taken over between two beats.
    const a = await pg.open(url, 'instance-a', { heartbeatMs: 1500 });
    const b = await pg.open(url, 'instance-b');
    const sender = new FakeSender(realClock);
    const sentBy = { a: [] as string[], b: [] as string[] };
    const via = (name: 'a' | 'b'): CampaignSender => ({ send: (m) => (sentBy[name].push(m.to), sender.send(m)), findSent: (m, since) => sender.findSent(m, since) });
    const engineA = new CampaignEngine(a.outbox, via('a'), engineOptions(a, { concurrency: 2 }));
    await engineA.start();
    // 0.2/s: A sends one row now and holds the other for a slot 5 s away (which goes first is the queue's choice).
    const created = await engineA.create(spec(people(2), { ratePerSecond: 0.2 }));
    await waitFor(() => sentBy.a.length === 1, 'A to send one row');
    const slotOfRow2 = Date.now() + 5000;
    // B paces by itself (its own buckets), so it may send row 2 as soon as it reconciled it.
    const engineB = new CampaignEngine(b.outbox, via('b'), engineOptions(b, { rateLimits: undefined }));
    await engineB.start();
    await completion(engineB, created.id);
    await waitFor(() => Date.now() > slotOfRow2 + 500, "the moment A's slot for row 2 came", 10_000);
    const row2 = numbers(2).find((to) => to !== sentBy.a[0])!;
    expect(sentBy.b).toEqual([row2]);
    expect(sentBy.a).not.toContain(row2);
    expect([...sender.perRecipient().values()]).toEqual([1, 1]);
    await engineA.stop();
    await engineB.stop();
  });

  it('two instances under one per-sender limit of R/s take slots R apart between them', async () => {
    const url = await pg.fresh();
    const [a, b] = [await pg.open(url, 'instance-a'), await pg.open(url, 'instance-b')];
    const sender = new FakeSender(realClock);
    const slots: Array<{ at: number; by: string }> = [];
    // The slots each instance's limiter hands out, as computed (not when sends happened).
    const recording = (instance: PgInstance) => ({
      async reserve(rules: Parameters<PgInstance['outbox']['rateLimits']['reserve']>[0], now: number) {
        const wait = await instance.outbox.rateLimits.reserve(rules, now);
        slots.push({ at: now + wait, by: instance.id });
        return wait;
      },
      blockUntil: (key: string, until: number) => instance.outbox.rateLimits.blockUntil(key, until),
    });
    const R = 10;
    const engineA = new CampaignEngine(a.outbox, sender, engineOptions(a, { rateLimits: recording(a) }));
    const engineB = new CampaignEngine(b.outbox, sender, engineOptions(b, { rateLimits: recording(b) }));
    await engineA.start();
    await engineB.start();
    const created = await engineA.create(spec(people(30), { ratePerSecond: R }));
    await completion(engineA, created.id);
    expect(sender.delivered).toHaveLength(30);
    expect(new Set(slots.map((s) => s.by))).toEqual(new Set(['instance-a', 'instance-b']));
    const at = slots.map((s) => s.at).sort((x, y) => x - y);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(1000 / R - 0.01);
    // Over the whole campaign: at most R per second.
    expect((at.length - 1) / ((at.at(-1)! - at[0]!) / 1000)).toBeLessThanOrEqual(R * 1.0001);
    await engineA.stop();
    await engineB.stop();
  });
});
