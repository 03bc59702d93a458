/**
 * For any valid policy, ledger history and message or call, the engine either allows
 * (a decision with a finite cost) or refuses with a ToolFailure that has a message and a
 * next step — never another kind of error. Fixed seed, bounded runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import { PolicyEngine } from '../../src/policy/policy-engine.js';
import { PolicySchema } from '../../src/policy/policy-schema.js';
import type { OutgoingCall, OutgoingMessage } from '../../src/policy/send-guard.js';
import { hashBody, InMemorySendLedger } from '../../src/policy/send-ledger.js';

const SEED = 20261124;

const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const prefix = fc.stringMatching(/^\+\d{1,12}$/);
// Real-looking numbers from a few countries, plus arbitrary E.164-shaped and malformed strings.
const number = fc.oneof(
  fc.constantFrom('+14155550100', '+12125550100', '+15005550006', '+447700900123', '+33612345678', '+819012345678', '+61412345678', '+882123456789', '+37061234567'),
  fc.stringMatching(/^\+[1-9]\d{6,14}$/),
  fc.string({ maxLength: 20 }),
);
const country = fc.constantFrom('US', 'CA', 'GB', 'FR', 'JP', 'AU', 'LT', 'ZZ', '*');

const policy = fc
  .record(
    {
      allowed_countries: fc.array(country, { minLength: 1, maxLength: 4 }),
      allow_numbers: fc.array(prefix, { maxLength: 3 }),
      deny_numbers: fc.array(prefix, { maxLength: 3 }),
      caps: fc.record({
        messages_per_hour: fc.integer({ min: 0, max: 5 }),
        messages_per_day: fc.integer({ min: 0, max: 10 }),
        calls_per_day: fc.integer({ min: 0, max: 5 }),
        spend_per_day_usd: fc.double({ min: 0, max: 5, noNaN: true }),
      }),
      quiet_hours: fc.oneof(fc.constant('off' as const), fc.record({ start: hhmm, end: hhmm }).filter((w) => w.start !== w.end)),
      duplicate_window_minutes: fc.integer({ min: 0, max: 1440 }),
      dry_run: fc.boolean(),
      first_contact: fc.constantFrom('allow', 'confirm', 'refuse'),
    },
    { requiredKeys: [] },
  )
  .map((raw) => PolicySchema.parse(raw));

const message = fc.record({
  channel: fc.constantFrom('sms', 'mms', 'whatsapp') as fc.Arbitrary<OutgoingMessage['channel']>,
  to: number,
  from: fc.option(number, { nil: undefined }),
  messagingServiceSid: fc.constant(undefined),
  body: fc.option(fc.string({ maxLength: 400, unit: 'binary' }), { nil: undefined }),
  segments: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  transactional: fc.option(fc.boolean(), { nil: undefined }),
  allowDuplicate: fc.option(fc.boolean(), { nil: undefined }),
  firstContactConfirmed: fc.option(fc.boolean(), { nil: undefined }),
});

const call = fc.record({
  to: number,
  from: fc.option(number, { nil: undefined }),
  content: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
  expectedMinutes: fc.option(fc.double({ min: 0, max: 240, noNaN: true }), { nil: undefined }),
  transactional: fc.option(fc.boolean(), { nil: undefined }),
}) as fc.Arbitrary<OutgoingCall>;

/** What an arbitrary generates (fast-check exports no such helper). */
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const history = fc.array(
  fc.record({ kind: fc.constantFrom('message' as const, 'call' as const), to: number, body: fc.string({ maxLength: 10 }), minutesAgo: fc.integer({ min: 0, max: 3000 }), cost: fc.double({ min: 0, max: 1, noNaN: true }) }),
  { maxLength: 8 },
);
const moment = fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2027-12-31T23:59:59Z'), noInvalidDate: true });

async function outcome(check: () => Promise<{ estimatedCost: number; warnings?: string[] }>): Promise<void> {
  try {
    const decision = await check();
    expect(Number.isFinite(decision.estimatedCost)).toBe(true);
    expect(decision.estimatedCost).toBeGreaterThanOrEqual(0);
  } catch (error) {
    expect(error).toBeInstanceOf(ToolFailure);
    expect((error as ToolFailure).message.length).toBeGreaterThan(0);
    expect((error as ToolFailure).nextStep.length).toBeGreaterThan(0);
  }
}

function engineFor(p: ReturnType<typeof PolicySchema.parse>, sends: ValueOf<typeof history>, now: Date, sender: string | undefined) {
  const ledger = new InMemorySendLedger();
  sends.forEach((s, i) =>
    ledger.recordSend({ kind: s.kind, to: s.to, bodyHash: hashBody(s.body), sid: `SID${i}`, estimatedCost: s.cost, at: new Date(now.getTime() - s.minutesAgo * 60_000) }),
  );
  return new PolicyEngine(p, ledger, sender, () => now);
}

describe('policy engine properties', () => {
  it('checkMessage either decides or refuses with a ToolFailure', async () => {
    await fc.assert(
      fc.asyncProperty(policy, history, message, moment, fc.option(number, { nil: undefined }), async (p, sends, m, now, sender) => {
        await outcome(() => engineFor(p, sends, now, sender).checkMessage(m));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('checkCall either decides or refuses with a ToolFailure', async () => {
    await fc.assert(
      fc.asyncProperty(policy, history, call, moment, fc.option(number, { nil: undefined }), async (p, sends, c, now, sender) => {
        await outcome(() => engineFor(p, sends, now, sender).checkCall(c));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('a number on the deny list is always refused by the deny rule', async () => {
    await fc.assert(
      fc.asyncProperty(policy, message, moment, async (p, m, now) => {
        const entry = m.to.replace(/^whatsapp:/i, '').slice(0, 3);
        fc.pre(entry.length > 0);
        const engine = engineFor({ ...p, deny_numbers: [entry] }, [], now, '+14155550000');
        await expect(engine.checkMessage(m)).rejects.toMatchObject({ extra: { rule: 'deny_numbers' } });
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
