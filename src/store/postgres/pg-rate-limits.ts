/**
 * The campaign engine's token buckets in PostgreSQL, so every instance on one database
 * paces one sender (and the account) together: two instances at R/s each would otherwise
 * send 2R/s through a sender Twilio queues at R.
 *
 * Same GCRA as the in-memory RateLimiter (campaigns/rate-limiter.ts): one row per bucket
 * holding its next slot. A reservation over several buckets locks their rows (in key order,
 * so two reservations never deadlock), takes the earliest moment all of them allow and moves
 * each past it, in one call of outbox_take_rate_slot (outbox-migrations.ts): atomic, one
 * round trip. Moments are the caller's clock (the engine's), like the in-memory limiter's;
 * instances' clocks are assumed synchronised (NTP), as the job queue assumes too.
 */
import type pg from 'pg';
import { ruleTiming, type RateLimits, type RateRule } from '../../campaigns/rate-limiter.js';

export class PostgresRateLimits implements RateLimits {
  constructor(private readonly pool: pg.Pool) {}

  async reserve(rules: readonly RateRule[], now: number): Promise<number> {
    const active = rules.filter((r) => r.perSecond > 0);
    if (active.length === 0) return 0;
    const timings = active.map(ruleTiming);
    const { rows } = await this.pool.query<{ at: number }>('SELECT outbox_take_rate_slot($1::text[], $2::float8[], $3::float8[], $4::float8) AS at', [
      active.map((r) => r.key),
      timings.map((t) => t.spacingMs),
      timings.map((t) => t.toleranceMs),
      now,
    ]);
    return Math.max(0, Number(rows[0]!.at) - now);
  }

  async blockUntil(key: string, untilMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO outbox_rate_buckets (key, next_slot, updated_at) VALUES ($1, to_timestamp($2::float8 / 1000), now())
       ON CONFLICT (key) DO UPDATE SET next_slot = greatest(outbox_rate_buckets.next_slot, excluded.next_slot), updated_at = now()`,
      [key, untilMs],
    );
  }

  /** The buckets as they stand (tests, status): key → next slot. */
  async buckets(): Promise<Map<string, Date>> {
    const { rows } = await this.pool.query<{ key: string; next_slot: Date }>('SELECT key, next_slot FROM outbox_rate_buckets ORDER BY key');
    return new Map(rows.map((r) => [r.key, r.next_slot]));
  }
}
