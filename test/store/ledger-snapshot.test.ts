/**
 * The reserve step's ledger snapshot: the store reads exactly the facts LedgerKeys names
 * (the caps' windows, the earlier identical send since the duplicate window began, first
 * contact) inside its write transaction and hands them to `decide`; a refusal rolls back;
 * `readLedger` (dry runs) reads the same snapshot. And the policy's ledgerKeys names the
 * windows its rules use.
 */
import { describe, expect, it } from 'vitest';
import { PolicyEngine, type PreparedSend } from '../../src/policy/policy-engine.js';
import { loadPolicy } from '../../src/policy/policy-schema.js';
import { hashBody, InMemorySendLedger } from '../../src/policy/send-ledger.js';
import type { LedgerKeys, LedgerSnapshot, ReservationRequest, Store } from '../../src/store/store.js';
import { tempStores } from '../helpers/temp-store.js';

const { freshFile, open } = tempStores('mcp-twilio-ledger-');
const T = (iso: string) => new Date(iso);
const request = (to: string, at: Date, over: Partial<ReservationRequest> = {}): ReservationRequest => ({
  kind: 'message', channel: 'sms', to, bodyHash: hashBody('hi'), estimatedCost: 0.01, at, sendAt: null,
  audit: { at, tool: 'send_sms', arguments: {}, clientName: null, sessionId: null }, ...over,
});
const keys = (to: string, over: Partial<LedgerKeys> = {}): LedgerKeys => ({
  to, bodyHash: hashBody('hi'), duplicateSince: T('2026-11-24T16:50:00Z'), hourStart: T('2026-11-24T17:00:00Z'), dayStart: T('2026-11-24T00:00:00Z'), ...over,
});

async function seeded(): Promise<Store> {
  const store = open(freshFile());
  const reserve = (r: ReservationRequest) => store.reserveSend(keys(r.to), () => r);
  await reserve(request('+14155550100', T('2026-11-23T23:59:00Z'), { estimatedCost: 5 })); // yesterday
  await reserve(request('+14155550100', T('2026-11-24T09:00:00Z'))); // today, another hour
  const ours = await reserve(request('+14155550100', T('2026-11-24T16:55:00Z'))); // this hour, in the window
  await store.settleSend(ours.id, { state: 'sent', sid: `SM${'1'.repeat(32)}`, at: T('2026-11-24T16:55:01Z') });
  await reserve(request('+14155550100', T('2026-11-24T16:40:00Z'), { bodyHash: hashBody('other') })); // other text
  await reserve(request('+14155550199', T('2026-11-24T17:05:00Z'), { kind: 'call', channel: 'voice', bodyHash: null, estimatedCost: 0.5 }));
  const refusedByTwilio = await reserve(request('+14155550177', T('2026-11-24T17:06:00Z')));
  await store.settleSend(refusedByTwilio.id, { state: 'released', error: 'refused', at: T('2026-11-24T17:06:01Z') });
  return store;
}

describe('reserveSend hands decide the snapshot its keys name', () => {
  it('totals of the hour and day, the latest identical send in the window, and first contact', async () => {
    const store = await seeded();
    let seen: LedgerSnapshot | undefined;
    await store.reserveSend(keys('+14155550100'), (ledger) => ((seen = ledger), request('+14155550100', T('2026-11-24T17:10:00Z'))));
    expect(seen).toMatchObject({
      // Released rows count for nothing; the call counts in calls and spend.
      totals: { messagesThisHour: 0, messagesToday: 3, callsToday: 1, spendToday: expect.closeTo(0.53, 6) },
      earlier: { sid: `SM${'1'.repeat(32)}`, state: 'sent', at: T('2026-11-24T16:55:00Z') },
      contacted: true,
    });
    expect(await store.readLedger(keys('+14155550100'))).toMatchObject({ totals: { messagesToday: 4, messagesThisHour: 1 }, earlier: { state: 'in_flight', at: T('2026-11-24T17:10:00Z') } });
  });

  it('no duplicate look without a hash or a window start; a released send is no contact', async () => {
    const store = await seeded();
    expect((await store.readLedger(keys('+14155550100', { bodyHash: null }))).earlier).toBeUndefined();
    expect((await store.readLedger(keys('+14155550100', { duplicateSince: null }))).earlier).toBeUndefined();
    expect((await store.readLedger(keys('+14155550100', { duplicateSince: T('2026-11-24T16:56:00Z') }))).earlier).toBeUndefined();
    expect((await store.readLedger(keys('+14155550177'))).contacted).toBe(false);
    expect((await store.readLedger(keys('+14155550199'))).contacted).toBe(true);
  });

  it('a refusal rolls back and rejects with the refusal: nothing reserved, nothing audited', async () => {
    const store = open(freshFile());
    const refusal = new Error('cap reached');
    await expect(store.reserveSend(keys('+14155550100'), () => { throw refusal; })).rejects.toBe(refusal);
    expect(await store.listAudit({ limit: 5 })).toEqual([]);
    expect((await store.readLedger(keys('+14155550100'))).totals.messagesToday).toBe(0);
  });

  it('the in-memory ledger answers the same snapshot', async () => {
    const ledger = new InMemorySendLedger();
    await ledger.recordSend({ kind: 'message', to: '+14155550100', bodyHash: hashBody('hi'), sid: 'SM1', estimatedCost: 0.01, at: T('2026-11-24T16:55:00Z') });
    await ledger.recordSend({ kind: 'message', to: '+14155550100', bodyHash: hashBody('hi'), sid: 'SM0', estimatedCost: 0.01, at: T('2026-11-24T16:00:00Z') });
    expect(await ledger.readLedger(keys('+14155550100'))).toMatchObject({
      totals: { messagesThisHour: 0, messagesToday: 2 },
      earlier: { sid: 'SM1' },
      contacted: true,
    });
    expect((await ledger.readLedger(keys('+14155550100', { bodyHash: null }))).earlier).toBeUndefined();
    expect((await ledger.readLedger(keys('+14155550101'))).contacted).toBe(false);
  });
});

describe('PolicyEngine.ledgerKeys', () => {
  const at = T('2026-11-24T17:42:10Z');
  const prepared = (content: string | undefined): PreparedSend => ({
    subject: { kind: 'message', to: '+14155550100', from: undefined, messagingServiceSid: undefined, content, cost: 0.01, transactional: false, allowDuplicate: false, firstContactConfirmed: false },
    at,
    segments: 1,
    warnings: [],
  });
  const engine = (env: Record<string, string> = {}) => new PolicyEngine(loadPolicy({ env }), new InMemorySendLedger(), undefined, () => at);

  it('names the UTC hour and day of the send and the duplicate window before it', () => {
    expect(engine({ TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '15' }).ledgerKeys(prepared('hello'))).toEqual({
      to: '+14155550100',
      bodyHash: hashBody('hello'),
      duplicateSince: T('2026-11-24T17:27:10Z'),
      hourStart: T('2026-11-24T17:00:00Z'),
      dayStart: T('2026-11-24T00:00:00Z'),
    });
  });

  it('asks for no duplicate look when the window is off or the send has no content', () => {
    expect(engine({ TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '0' }).ledgerKeys(prepared('hello'))).toMatchObject({ bodyHash: null, duplicateSince: null });
    expect(engine().ledgerKeys(prepared(undefined))).toMatchObject({ bodyHash: null, duplicateSince: null });
  });
});
