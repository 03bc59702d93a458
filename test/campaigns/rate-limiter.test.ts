import { describe, expect, it } from 'vitest';
import { defaultRatePerSecond, RateLimiter } from '../../src/campaigns/rate-limiter.js';

/** Sends `n` as fast as the limiter lets them, on a fake clock; returns their times. */
function drive(limiter: RateLimiter, clock: { t: number }, n: number, rules: Parameters<RateLimiter['reserve']>[0]): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const wait = limiter.reserve(rules);
    clock.t += wait;
    times.push(clock.t);
  }
  return times;
}

describe('rate limiter', () => {
  it('keeps a sustained rate within 1% (fake clock)', () => {
    for (const perSecond of [1, 3, 100]) {
      const clock = { t: 1_000_000 };
      const limiter = new RateLimiter(() => clock.t);
      const times = drive(limiter, clock, 301, [{ key: 's', perSecond }]);
      const rate = 300 / ((times.at(-1)! - times[0]!) / 1000);
      expect(Math.abs(rate - perSecond) / perSecond).toBeLessThan(0.01);
    }
  });

  it('allows a burst after a quiet spell, no more', () => {
    const clock = { t: 0 };
    const limiter = new RateLimiter(() => clock.t);
    const times = drive(limiter, clock, 5, [{ key: 's', perSecond: 1, burst: 3 }]);
    expect(times).toEqual([0, 0, 0, 1000, 2000]);
  });

  it('a send waits for the slowest of its buckets and takes a slot of each at that moment', () => {
    const clock = { t: 0 };
    const limiter = new RateLimiter(() => clock.t);
    // Two senders at 10/s each under an account limit of 10/s: together 10/s, not 20.
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const sender = i % 2 === 0 ? 'a' : 'b';
      clock.t += limiter.reserve([
        { key: sender, perSecond: 10 },
        { key: 'account', perSecond: 10 },
      ]);
      times.push(clock.t);
    }
    expect(times.at(-1)! - times[0]!).toBe(1900);
  });

  it('concurrent reservations at one moment are spread out (each gets its own slot)', () => {
    const limiter = new RateLimiter(() => 0);
    const waits = Array.from({ length: 4 }, () => limiter.reserve([{ key: 's', perSecond: 2 }]));
    expect(waits).toEqual([0, 500, 1000, 1500]);
  });

  it('a rate of 0 is no limit; blockUntil holds a sender (429 Retry-After)', () => {
    const clock = { t: 0 };
    const limiter = new RateLimiter(() => clock.t);
    expect(drive(limiter, clock, 3, [{ key: 's', perSecond: 0 }])).toEqual([0, 0, 0]);
    limiter.blockUntil('s', 30_000);
    expect(limiter.reserve([{ key: 's', perSecond: 5 }])).toBe(30_000);
  });

  it("defaults follow Twilio's documented throughputs", () => {
    expect(defaultRatePerSecond({ from: '+14155550100' })).toBe(1);
    expect(defaultRatePerSecond({ from: '+18005550100' })).toBe(3);
    expect(defaultRatePerSecond({ from: '+18885550100' })).toBe(3);
    expect(defaultRatePerSecond({ from: '12345' })).toBe(100);
    expect(defaultRatePerSecond({ from: 'whatsapp:+14155550100' })).toBe(80);
    expect(defaultRatePerSecond({ messagingServiceSid: 'MG' + '0'.repeat(32) })).toBe(1);
    expect(defaultRatePerSecond({ messagingServiceSid: 'MG' + '0'.repeat(32) }, { messagingServiceSenders: 5 })).toBe(5);
  });
});
