/**
 * The campaign engine against a real SQLite outbox file and a fake sender: each eligible
 * recipient reached exactly once, refusals skipped or held as their rule says, retries
 * paced as Twilio asked, unknown outcomes reconciled, crashes survived.
 */
import { describe, expect, it } from 'vitest';
import { CampaignEngine, type CampaignEngineOptions } from '../../src/campaigns/engine.js';
import type { CampaignSpec, RecipientInput } from '../../src/campaigns/types.js';
import type { Outbox } from '../../src/store/outbox.js';
import { deadPid, FakeClock, FakeSender, flush, numbers, runToCompletion, tempOutboxes, type Fault } from './fakes.js';

const outboxes = tempOutboxes();

function setup(script?: ConstructorParameters<typeof FakeSender>[1], options: CampaignEngineOptions = {}, file = outboxes.file()) {
  const clock = new FakeClock();
  const sender = new FakeSender(clock, script);
  const outbox = outboxes.open(file);
  const engine = new CampaignEngine(outbox, sender, { clock, random: () => 0.5, pollMs: 1000, reconcileDelayMs: 5000, ...options });
  return { clock, sender, outbox, engine, file };
}

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

describe('campaign engine', () => {
  it('sends each recipient its own rendered text once, and completes', async () => {
    const { engine, sender, clock } = setup();
    const progress: number[] = [];
    engine.on('progress', (p) => progress.push(p.done));
    await engine.start();
    const created = await engine.create(spec(people(20)));
    await runToCompletion(engine, clock, created.id);
    expect(sender.delivered).toHaveLength(20);
    expect([...sender.perRecipient().values()].every((n) => n === 1)).toBe(true);
    expect(sender.delivered.find((d) => d.to === numbers(1)[0])?.body).toBe('Hi P0, 20% off today.');
    const report = await engine.get(created.id);
    expect(report?.counts.sent).toBe(20);
    expect(report?.state).toBe('completed');
    expect(progress.at(-1)).toBe(20);
    await engine.stop();
  });

  it('stores bad numbers, missing variables and repeated numbers with their row numbers, and sends none of them', async () => {
    const { engine, sender, clock, outbox } = setup();
    await engine.start();
    const created = await engine.create(
      spec([
        { to: '+1 (415) 555-0101', variables: { name: 'Ann' } },
        { to: '4155550102', variables: { name: 'Bob' } },
        { to: '+14155550103', variables: {} },
        { to: '+14155550101', variables: { name: 'Ann again' } },
        { to: '', variables: { name: 'Nobody' } },
        { to: '+14155550104', variables: { name: '  ' } },
      ]),
    );
    await runToCompletion(engine, clock, created.id);
    expect(sender.delivered.map((d) => d.to)).toEqual(['+14155550101']);
    const rows = await outbox.listRecipients(created.id, { limit: 10 });
    expect(rows.map((r) => [r.row, r.state])).toEqual([
      [1, 'sent'],
      [2, 'invalid'],
      [3, 'invalid'],
      [4, 'duplicate'],
      [5, 'invalid'],
      [6, 'invalid'],
    ]);
    expect(rows[0]!.to).toBe('+14155550101');
    expect(rows[1]!.error).toMatch(/^row 2: .*E\.164 form/);
    expect(rows[2]!.error).toBe('row 3: missing variable name');
    expect(rows[3]!.error).toBe('duplicate of row 1');
    expect(rows[5]!.error).toBe('row 6: missing variable name');
    await engine.stop();
  });

  it('skips opted-out and policy-refused recipients with the rule, and sends the rest', async () => {
    const refusals: Record<string, Fault> = {
      [numbers(3)[0]!]: { kind: 'refuse', rule: 'opt_out' },
      [numbers(3)[1]!]: { kind: 'refuse', rule: 'allowed_countries' },
    };
    const { engine, sender, clock, outbox } = setup((m) => refusals[m.to]);
    await engine.start();
    const created = await engine.create(spec(people(3)));
    await runToCompletion(engine, clock, created.id);
    const rows = await outbox.listRecipients(created.id, { limit: 10 });
    expect(rows.map((r) => r.state)).toEqual(['skipped_opt_out', 'skipped_policy', 'sent']);
    expect(rows[1]!.error).toMatch(/^allowed_countries: /);
    expect(sender.delivered.map((d) => d.to)).toEqual([numbers(3)[2]]);
    expect(sender.attempts).toHaveLength(3); // a refusal is final: never tried again
    await engine.stop();
  });

  it('holds a recipient in quiet hours until they end, then sends it', async () => {
    const clock0 = new FakeClock();
    const resumesAt = new Date(clock0.now() + 3 * 3_600_000);
    const { engine, sender, clock, outbox } = setup((m, n) =>
      m.to === numbers(2)[0] && n === 1 ? { kind: 'refuse', rule: 'quiet_hours', extra: { resumes_at: resumesAt.toISOString() } } : undefined,
    { pollMs: 60_000 });
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await clock.advance(10_000);
    const held = await outbox.getRecipient({ campaignId: created.id, row: 1 });
    expect(held?.state).toBe('held');
    expect(held?.nextAttemptAt?.toISOString()).toBe(resumesAt.toISOString());
    // A hold tried nothing: it does not use up one of the recipient's attempts.
    expect(held?.attempts).toBe(0);
    await clock.advance(3 * 3_600_000 - 60_000);
    expect((await outbox.getRecipient({ campaignId: created.id, row: 1 }))?.state).toBe('held');
    expect(sender.delivered).toHaveLength(1);
    await runToCompletion(engine, clock, created.id, 10_000);
    expect(sender.perRecipient().get(numbers(2)[0]!)).toBe(1);
    const second = sender.attempts.filter((a) => a.to === numbers(2)[0])[1]!;
    expect(second.at).toBeGreaterThanOrEqual(resumesAt.getTime());
    await engine.stop();
  });

  it('retries a 429 no sooner than Retry-After, and a 500 with backoff', async () => {
    const [a, b] = numbers(2);
    const { engine, sender, clock } = setup((m, n) => {
      if (m.to === a && n === 1) return { kind: 'http', status: 429, code: 20429, retryAfterSeconds: 30 };
      if (m.to === b && n <= 2) return { kind: 'http', status: 500 };
      return undefined;
    }, { backoffBaseMs: 4000 });
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await runToCompletion(engine, clock, created.id);
    const times = (to: string) => sender.attempts.filter((x) => x.to === to).map((x) => x.at);
    const [a1, a2] = times(a!);
    expect(a2! - a1!).toBeGreaterThanOrEqual(30_000);
    const [b1, b2, b3] = times(b!);
    // Backoff with jitter 0.5: 3 s then 6 s (base 4 s, equal jitter).
    expect(b2! - b1!).toBeGreaterThanOrEqual(3000);
    expect(b3! - b2!).toBeGreaterThanOrEqual(6000);
    expect(sender.perRecipient().get(a!)).toBe(1);
    expect(sender.perRecipient().get(b!)).toBe(1);
    await engine.stop();
  });

  it('gives up after maxAttempts retryable failures (failed_send), and never retries a plain refusal', async () => {
    const [a, b] = numbers(2);
    const { engine, sender, clock, outbox } = setup((m) => (m.to === a ? { kind: 'http', status: 503 } : { kind: 'http', status: 400, code: 21211 }), {
      maxAttempts: 3,
      backoffBaseMs: 1000,
    });
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await runToCompletion(engine, clock, created.id);
    expect(sender.attempts.filter((x) => x.to === a)).toHaveLength(3);
    expect(sender.attempts.filter((x) => x.to === b)).toHaveLength(1);
    const rows = await outbox.listRecipients(created.id, { limit: 10 });
    expect(rows.map((r) => r.state)).toEqual(['failed_send', 'failed_send']);
    expect(rows[1]!.errorCode).toBe(21211);
    await engine.stop();
  });

  it('reconciles an unknown outcome before anything else: sent once whether or not the lost attempt went out', async () => {
    const [wentOut, didNot] = numbers(2);
    const { engine, sender, clock, outbox } = setup((m, n) => {
      if (n > 1) return undefined;
      if (m.to === wentOut) return { kind: 'unknown-sent' };
      if (m.to === didNot) return { kind: 'unknown-not-sent' };
      return undefined;
    });
    await engine.start();
    const created = await engine.create(spec(people(2)));
    await clock.advance(1000);
    expect((await outbox.getRecipient({ campaignId: created.id, row: 1 }))?.state).toBe('outcome_unknown');
    await runToCompletion(engine, clock, created.id);
    expect(sender.perRecipient().get(wentOut!)).toBe(1);
    expect(sender.perRecipient().get(didNot!)).toBe(1);
    expect(sender.attempts.filter((x) => x.to === wentOut)).toHaveLength(1); // found: never sent again
    expect(sender.attempts.filter((x) => x.to === didNot)).toHaveLength(2);
    const row1 = await outbox.getRecipient({ campaignId: created.id, row: 1 });
    expect(row1?.state).toBe('sent');
    expect(row1?.messageSid).toBe(sender.delivered.find((d) => d.to === wentOut)!.sid);
    await engine.stop();
  });

  it('a cap refusal holds the row until the cap resets, and the rest of the campaign waits with it', async () => {
    const resets = new Date(new FakeClock().now() + 45 * 60_000);
    let capped = true;
    const { engine, sender, clock, outbox } = setup(() => (capped ? { kind: 'refuse', rule: 'caps', extra: { cap: 'messages_per_hour', resets_at: resets.toISOString() } } : undefined), {
      concurrency: 1,
      pollMs: 60_000,
    });
    await engine.start();
    const created = await engine.create(spec(people(5)));
    await clock.advance(5000);
    capped = false;
    expect(sender.attempts).toHaveLength(1); // the others were not tried against a cap known to be reached
    expect((await outbox.getRecipient({ campaignId: created.id, row: 1 }))).toMatchObject({ state: 'held', nextAttemptAt: resets });
    await runToCompletion(engine, clock, created.id, 60_000);
    expect(sender.delivered).toHaveLength(5);
    expect(Math.min(...sender.delivered.map((d) => d.at))).toBeGreaterThanOrEqual(resets.getTime());
    await engine.stop();
  });

  it('a WhatsApp content template is sent with content_sid and each row\'s variables, not rendered', async () => {
    const { engine, clock } = setup();
    const seen: unknown[] = [];
    const sender = new FakeSender(clock);
    const spy = { send: (m: Parameters<FakeSender['send']>[0]) => (seen.push(m), sender.send(m)), findSent: sender.findSent.bind(sender) };
    const outbox = outboxes.open(outboxes.file());
    const wa = new CampaignEngine(outbox, spy, { clock, pollMs: 1000 });
    await wa.start();
    const created = await wa.create({
      name: 'wa',
      channel: 'whatsapp',
      contentSid: 'HX' + 'a'.repeat(32),
      from: 'whatsapp:+14155550000',
      ratePerSecond: 0,
      recipients: { kind: 'inline', recipients: [{ to: '+14155550101', variables: { '1': 'Ann' } }] },
    });
    await runToCompletion(wa, clock, created.id);
    expect(seen).toEqual([
      expect.objectContaining({ to: 'whatsapp:+14155550101', channel: 'whatsapp', contentSid: 'HX' + 'a'.repeat(32), contentVariables: { '1': 'Ann' }, idempotencyKey: `${created.id}:1` }),
    ]);
    expect((seen[0] as { body?: string }).body).toBeUndefined();
    await wa.stop();
    await engine.stop();
  });

  it('a failing outbox read is reported as an error event and the workers carry on', async () => {
    const { clock, sender, outbox } = setup();
    let failures = 1;
    const flaky: Outbox = Object.create(outbox, {
      claimBatch: { value: (...args: Parameters<Outbox['claimBatch']>) => (failures-- > 0 ? Promise.reject(new Error('database is locked')) : outbox.claimBatch(...args)) },
    });
    const engine = new CampaignEngine(flaky, sender, { clock, pollMs: 1000, concurrency: 2 });
    const errors: string[] = [];
    engine.on('error', (e) => errors.push(e.message));
    const created = await engine.create(spec(people(3)));
    await engine.start();
    await runToCompletion(engine, clock, created.id);
    expect(errors).toEqual(['database is locked']);
    expect(sender.delivered).toHaveLength(3);
    await engine.stop();
  });

  it('pauses, resumes and cancels', async () => {
    const { engine, sender, clock, outbox } = setup(undefined, { concurrency: 1 });
    const created = await engine.create(spec(people(10), { ratePerSecond: 1 }));
    await engine.start();
    await clock.advance(2500);
    await engine.pause(created.id);
    await clock.advance(1000); // the row claimed before the pause may finish
    const afterPause = sender.delivered.length;
    await clock.advance(20_000);
    expect(sender.delivered.length).toBe(afterPause);
    expect(afterPause).toBeLessThan(10);
    await engine.resume(created.id);
    await clock.advance(2000);
    expect(sender.delivered.length).toBeGreaterThan(afterPause);
    await engine.cancel(created.id);
    await clock.advance(30_000);
    const counts = await outbox.counts(created.id);
    expect(counts.canceled + counts.sent).toBe(10);
    expect(counts.canceled).toBeGreaterThan(0);
    expect(sender.delivered.length).toBe(counts.sent);
    expect((await engine.get(created.id))?.state).toBe('canceled');
    await engine.stop();
  });
});

describe('pause with rows waiting for their rate slot', () => {
  it('rows claimed by several workers and waiting to be paced send nothing after a pause, and go back to pending', async () => {
    const { engine, sender, clock, outbox } = setup(undefined, { concurrency: 4 });
    const created = await engine.create(spec(people(5), { ratePerSecond: 0.2 }));
    await engine.start();
    await clock.advance(100);
    expect(sender.delivered).toHaveLength(1);
    await engine.pause(created.id);
    await clock.advance(30_000);
    expect(sender.delivered).toHaveLength(1);
    expect(await outbox.counts(created.id)).toMatchObject({ sent: 1, sending: 0, pending: 4 });
    await engine.resume(created.id);
    await runToCompletion(engine, clock, created.id);
    expect(sender.delivered).toHaveLength(5);
    await engine.stop();
  });
});

describe('crash and restart', () => {
  it('a new engine on the same file reconciles rows a dead process left sending: every recipient exactly once', async () => {
    const file = outboxes.file();
    const clock = new FakeClock();
    const sender = new FakeSender(clock, (m, n) => {
      // The first engine "dies" on rows 11-14: two of them had gone out.
      const row = Number(m.idempotencyKey.split(':')[1]);
      if (n === 1 && row >= 11 && row <= 14) return { kind: 'hang', sent: row % 2 === 0 };
      return undefined;
    });
    const dead = deadPid();
    const first = new CampaignEngine(outboxes.open(file), sender, { clock, ownerPid: dead, concurrency: 4, pollMs: 1000 });
    await first.start();
    const created = await first.create(spec(people(40)));
    for (let i = 0; i < 20; i++) await clock.advance(100);
    const outbox: Outbox = outboxes.open(file);
    const stuck = await outbox.listRecipients(created.id, { state: 'sending', limit: 100 });
    // 11-14 hang at the sender; rows claimed with them but not sent yet are stuck too.
    expect(stuck.map((r) => r.row)).toEqual(expect.arrayContaining([11, 12, 13, 14]));
    expect(stuck.every((r) => r.ownerPid === dead)).toBe(true);
    // The first engine is dropped (its workers hang forever); the second starts on the same file.
    const second = new CampaignEngine(outbox, sender, { clock, concurrency: 4, pollMs: 1000, reconcileDelayMs: 5000 });
    await second.start();
    await runToCompletion(second, clock, created.id);
    const per = sender.perRecipient();
    expect(per.size).toBe(40);
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    expect(sender.findSentCalls).toBeGreaterThanOrEqual(4);
    await second.stop();
  });

  it('under a fault mix (10% 429, 2% 5xx, 1% outcome unknown after sending) and a crash: zero duplicates, zero losses', async () => {
    const file = outboxes.file();
    const clock = new FakeClock();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let crashed = false;
    let sends = 0;
    const sender = new FakeSender(clock, () => {
      sends++;
      if (!crashed && sends >= 150 && sends < 154) return { kind: 'hang', sent: sends % 2 === 0 };
      const r = random();
      if (r < 0.1) return { kind: 'http', status: 429, retryAfterSeconds: 2 };
      if (r < 0.12) return { kind: 'http', status: 500 };
      if (r < 0.13) return { kind: 'unknown-sent' };
      return undefined;
    });
    const recipients = Array.from({ length: 400 }, (_, i) => ({ to: `+1212555${String(i).padStart(4, '0')}`, variables: { name: `N${i}` } }));
    const first = new CampaignEngine(outboxes.open(file), sender, { clock, ownerPid: deadPid(), concurrency: 4, pollMs: 1000, maxAttempts: 20, backoffBaseMs: 500, reconcileDelayMs: 2000 });
    await first.start();
    const created = await first.create(spec(recipients));
    for (let i = 0; i < 400 && sends < 154; i++) await clock.advance(500);
    crashed = true;
    const left = await outboxes.open(file).listRecipients(created.id, { state: 'sending', limit: 500 });
    expect(left.length).toBeGreaterThanOrEqual(4); // the crash left rows claimed, two of them sent
    const second = new CampaignEngine(outboxes.open(file), sender, { clock, concurrency: 4, pollMs: 1000, maxAttempts: 20, backoffBaseMs: 500, reconcileDelayMs: 2000 });
    await second.start();
    await runToCompletion(second, clock, created.id, 1000, 2000);
    const per = sender.perRecipient();
    expect(per.size).toBe(400);
    expect([...per.values()].filter((n) => n !== 1)).toEqual([]);
    expect((await second.get(created.id))?.counts.sent).toBe(400);
    await second.stop();
  });
});

describe('rate', () => {
  it('paces a long-code campaign at its documented 1 message/s', async () => {
    const { engine, sender, clock } = setup(undefined, { concurrency: 4 });
    await engine.start();
    const created = await engine.create(spec(people(30), { ratePerSecond: undefined }));
    await runToCompletion(engine, clock, created.id, 250);
    const times = sender.attempts.map((a) => a.at).sort((x, y) => x - y);
    const span = times.at(-1)! - times[0]!;
    // 30 sends at 1/s: 29 s between first and last (±5%).
    expect(span).toBeGreaterThanOrEqual(29_000 * 0.95);
    expect(span).toBeLessThanOrEqual(29_000 * 1.05);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000 - 1);
    await engine.stop();
  });

  it('an override of rate_per_second wins (10/s), and 0 means no limit', async () => {
    const { engine, sender, clock } = setup(undefined, { concurrency: 4 });
    await engine.start();
    const paced = await engine.create(spec(people(21), { ratePerSecond: 10 }));
    await runToCompletion(engine, clock, paced.id, 100);
    const times = sender.attempts.map((a) => a.at).sort((x, y) => x - y);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2000 * 0.95);
    expect(times.at(-1)! - times[0]!).toBeLessThanOrEqual(2000 * 1.1);
    const unlimited = await engine.create(spec(people(21, 100), { ratePerSecond: 0 }));
    const startedAt = clock.now();
    await runToCompletion(engine, clock, unlimited.id, 100);
    const unpaced = sender.attempts.slice(21).map((a) => a.at);
    expect(unpaced).toHaveLength(21);
    expect(Math.max(...unpaced) - startedAt).toBeLessThanOrEqual(1000); // all within the first poll
    await engine.stop();
    await flush();
  });
});
