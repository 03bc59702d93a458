/**
 * The token buckets in PostgreSQL: the same pacing as the in-memory limiter (rate-limiter.test.ts),
 * and one pace for every instance that shares the database. On a fake clock: the slots handed
 * out are what is asserted, never how long anything took.
 */
import { describe, expect, it } from 'vitest';
import type { RateRule } from '../../src/campaigns/rate-limiter.js';
import { PostgresRateLimits } from '../../src/store/postgres/pg-rate-limits.js';
import { postgresMissing } from '../helpers/pg-temp.js';
import { pgOutboxes } from './pg-fixtures.js';

const noPostgres = await postgresMissing();
const pg = pgOutboxes();

/** Two limiters on separate pools (two instances) over one fresh database. */
async function twoInstances(): Promise<[PostgresRateLimits, PostgresRateLimits]> {
  const url = await pg.fresh();
  return [new PostgresRateLimits(pg.databases.pool(url)), new PostgresRateLimits(pg.databases.pool(url))];
}

/** Sends `n` as fast as the limiter lets them, on a fake clock; returns their times. */
async function drive(limiter: PostgresRateLimits, clock: { t: number }, n: number, rules: RateRule[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    clock.t += await limiter.reserve(rules, clock.t);
    times.push(clock.t);
  }
  return times;
}

describe.skipIf(noPostgres)('rate limits in PostgreSQL', () => {
  it('keeps a sustained rate within 1% (fake clock)', async () => {
    const [limiter] = await twoInstances();
    for (const perSecond of [1, 3, 100]) {
      const clock = { t: 1_000_000 };
      const times = await drive(limiter, clock, 101, [{ key: `s${perSecond}`, perSecond }]);
      const rate = 100 / ((times.at(-1)! - times[0]!) / 1000);
      expect(Math.abs(rate - perSecond) / perSecond).toBeLessThan(0.01);
    }
  });

  it('allows a burst after a quiet spell, no more', async () => {
    const [limiter] = await twoInstances();
    expect(await drive(limiter, { t: 0 }, 5, [{ key: 's', perSecond: 1, burst: 3 }])).toEqual([0, 0, 0, 1000, 2000]);
  });

  it('a send waits for the slowest of its buckets and takes a slot of each at that moment', async () => {
    const [limiter] = await twoInstances();
    const clock = { t: 0 };
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      clock.t += await limiter.reserve([{ key: i % 2 === 0 ? 'a' : 'b', perSecond: 10 }, { key: 'account', perSecond: 10 }], clock.t);
      times.push(clock.t);
    }
    // Two senders at 10/s each under an account limit of 10/s: together 10/s, not 20.
    expect(times.at(-1)! - times[0]!).toBe(1900);
  });

  it('two instances reserving at one moment get distinct slots, spaced as one instance would space them', async () => {
    const [a, b] = await twoInstances();
    const rule = [{ key: '+14155550000', perSecond: 2 }];
    const waits = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).reserve(rule, 0)));
    expect(waits.sort((x, y) => x - y)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
    // What the table holds: the slot after the last one handed out.
    expect((await a.buckets()).get('+14155550000')?.getTime()).toBe(4000);
  });

  it('combined, two instances sending flat out through one sender stay at its rate', async () => {
    const [a, b] = await twoInstances();
    const clocks = [{ t: 0 }, { t: 0 }];
    const slots: number[] = [];
    const rule = [{ key: 'MG' + '1'.repeat(32), perSecond: 5 }];
    // Each instance sends as soon as it may, with its own clock, interleaved with the other.
    for (let i = 0; i < 20; i++) {
      const which = i % 2;
      const clock = clocks[which]!;
      clock.t += await (which === 0 ? a : b).reserve(rule, clock.t);
      slots.push(clock.t);
    }
    slots.sort((x, y) => x - y);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(200);
    // In any one second, at most 5.
    for (const start of slots) expect(slots.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(5);
  });

  it('a rate of 0 is no limit; blockUntil holds a sender for every instance (429 Retry-After)', async () => {
    const [a, b] = await twoInstances();
    expect(await a.reserve([{ key: 's', perSecond: 0 }], 0)).toBe(0);
    await a.blockUntil('s', 30_000);
    await b.blockUntil('s', 10_000); // an earlier block does not shorten a later one
    expect(await b.reserve([{ key: 's', perSecond: 5 }], 0)).toBe(30_000);
  });
});
