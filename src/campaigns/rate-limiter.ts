/**
 * Throughput limits for campaign sends: one token bucket per sender and one per account,
 * so a campaign paces itself instead of piling messages into Twilio's queue (where they
 * wait, and fail with 30001 after hours).
 *
 * Each bucket is kept in its GCRA form (a "theoretical arrival time" per key): one number
 * per bucket, exact under any clock, and several buckets can be asked at once for the
 * earliest moment they ALL allow a send, which is then taken from each — a send never
 * burns a slot of one bucket while it waits for another.
 *
 * Where the buckets live is the RateLimits interface's business: RateLimiter below keeps them
 * in this process (one instance on SQLite), PostgresRateLimits (store/postgres/pg-rate-limits.ts)
 * keeps them in a table, so instances that share a database share their senders' throughput.
 */

export interface RateRule {
  /** The bucket: a sender ("+14155550100", "MG…"), or "account". */
  key: string;
  /** Sustained sends per second; 0 or less: no limit from this rule. */
  perSecond: number;
  /** Sends allowed back to back after a quiet spell (default 1: strictly paced). */
  burst?: number;
}

/** Token buckets for sends, in this process or shared by instances. */
export interface RateLimits {
  /**
   * Takes one slot from every rule at the earliest moment all of them allow it, at or after
   * `now` (ms, the caller's clock); gives how many ms after `now` that moment is (0: send now).
   * The caller waits that long: the slot is taken either way.
   */
  reserve(rules: readonly RateRule[], now: number): number | Promise<number>;
  /** No slot of `key` before `untilMs` (Twilio said 429 with Retry-After for this sender). */
  blockUntil(key: string, untilMs: number): void | Promise<void>;
}

interface Bucket {
  /** When the next send would be due if sends went exactly at the rate (ms). */
  tat: number;
}

/** The buckets in this process's memory. */
export class RateLimiter implements RateLimits {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number) {}

  /**
   * Takes one slot from every rule at the earliest moment all of them allow it; returns
   * how many ms from now (the clock given to the constructor, unless `now` is passed) that
   * moment is (0: send now). The caller waits that long.
   */
  reserve(rules: readonly RateRule[], now: number = this.now()): number {
    const active = rules.filter((r) => r.perSecond > 0);
    let at = now;
    for (const rule of active) {
      const bucket = this.buckets.get(rule.key);
      if (bucket) at = Math.max(at, bucket.tat - tolerance(rule));
    }
    for (const rule of active) {
      const bucket = this.buckets.get(rule.key) ?? { tat: at };
      bucket.tat = Math.max(bucket.tat, at) + 1000 / rule.perSecond;
      this.buckets.set(rule.key, bucket);
    }
    return at - now;
  }

  /** No slot of `key` before `untilMs` (Twilio said 429 with Retry-After for this sender). */
  blockUntil(key: string, untilMs: number): void {
    const bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, { tat: untilMs });
    else bucket.tat = Math.max(bucket.tat, untilMs);
  }
}

const tolerance = (rule: RateRule) => (Math.max(1, rule.burst ?? 1) - 1) * (1000 / rule.perSecond);

/** A rule in GCRA terms, for a limiter that keeps its buckets elsewhere: ms between slots, and how far ahead a burst may run. */
export function ruleTiming(rule: RateRule): { spacingMs: number; toleranceMs: number } {
  return { spacingMs: 1000 / rule.perSecond, toleranceMs: tolerance(rule) };
}

const TOLL_FREE = /^\+1(800|833|844|855|866|877|888)\d{7}$/;
/** Short codes are written without "+": 3 to 8 digits (5 or 6 in the US). */
const SHORT_CODE = /^\d{3,8}$/;

export interface SenderRateOptions {
  /** How many numbers a Messaging Service pools (its throughput is the sum); unknown: 1. */
  messagingServiceSenders?: number;
}

/**
 * Twilio's documented default throughput for a sender: about 1 message/s for a long code,
 * 3 for a toll-free number, 100 for a short code, 80 for a WhatsApp sender; a Messaging
 * Service sends through its pool, so the sum of its senders (unknown here: 1 per sender).
 * An operator who bought more throughput overrides it (rate_per_second, or senderRates).
 */
export function defaultRatePerSecond(sender: { from?: string | null; messagingServiceSid?: string | null }, options: SenderRateOptions = {}): number {
  if (sender.messagingServiceSid) return Math.max(1, options.messagingServiceSenders ?? 1);
  const from = sender.from ?? '';
  if (from.toLowerCase().startsWith('whatsapp:')) return 80;
  if (SHORT_CODE.test(from)) return 100;
  if (TOLL_FREE.test(from)) return 3;
  return 1;
}
