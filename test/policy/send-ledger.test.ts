/**
 * The in-memory ledger answers as the SQLite one does (store.ts documents the same
 * contract): windows are inclusive at their start, spend counts messages and calls.
 */
import { describe, expect, it } from 'vitest';
import { hashBody, InMemorySendLedger, type SendRecord } from '../../src/policy/send-ledger.js';

const at = (iso: string) => new Date(iso);
const send = (over: Partial<SendRecord>): SendRecord => ({
  kind: 'message', to: '+14155550100', bodyHash: hashBody('hi'), sid: 'SM1', estimatedCost: 0.01, at: at('2026-11-24T17:00:00Z'), ...over,
});

describe('InMemorySendLedger', () => {
  it('hashes bodies with sha256 (hex), so no text is kept', () => {
    expect(hashBody('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });

  it('totals the current hour and day, messages and calls apart, spend together', async () => {
    const ledger = new InMemorySendLedger();
    await ledger.recordSend(send({ sid: 'SM-yesterday', at: at('2026-11-23T23:59:59Z'), estimatedCost: 5 }));
    await ledger.recordSend(send({ sid: 'SM-morning', at: at('2026-11-24T00:00:00Z') }));
    await ledger.recordSend(send({ sid: 'SM-this-hour', at: at('2026-11-24T17:00:00Z') }));
    await ledger.recordSend(send({ kind: 'call', sid: 'CA1', bodyHash: null, at: at('2026-11-24T17:30:00Z'), estimatedCost: 0.042 }));
    expect(await ledger.sendTotals(at('2026-11-24T17:00:00Z'), at('2026-11-24T00:00:00Z'))).toEqual({
      messagesThisHour: 1,
      messagesToday: 2,
      callsToday: 1,
      spendToday: 0.062,
    });
  });

  it('finds the latest identical send since a moment, and nothing older', async () => {
    const ledger = new InMemorySendLedger();
    await ledger.recordSend(send({ sid: 'SM-old', at: at('2026-11-24T16:00:00Z') }));
    await ledger.recordSend(send({ sid: 'SM-new', at: at('2026-11-24T16:55:00Z') }));
    await ledger.recordSend(send({ sid: 'SM-other-body', bodyHash: hashBody('bye'), at: at('2026-11-24T16:58:00Z') }));
    expect(await ledger.findRecentSend('+14155550100', hashBody('hi'), at('2026-11-24T16:50:00Z'))).toMatchObject({ sid: 'SM-new', at: at('2026-11-24T16:55:00Z'), state: 'sent' });
    expect(await ledger.findRecentSend('+14155550100', hashBody('hi'), at('2026-11-24T16:56:00Z'))).toBeUndefined();
    expect(await ledger.findRecentSend('+14155550199', hashBody('hi'), at('2026-11-24T00:00:00Z'))).toBeUndefined();
  });

  it('remembers who was contacted, by message or call', async () => {
    const ledger = new InMemorySendLedger();
    await ledger.recordSend(send({ kind: 'call', to: '+14155550111', bodyHash: null }));
    expect(await ledger.hasContacted('+14155550111')).toBe(true);
    expect(await ledger.hasContacted('+14155550112')).toBe(false);
  });

  it('keeps its own copy of the time, so a caller mutating its Date changes nothing', async () => {
    const ledger = new InMemorySendLedger();
    const when = at('2026-11-24T17:00:00Z');
    await ledger.recordSend(send({ at: when }));
    when.setUTCFullYear(2000);
    expect(ledger.records()[0]!.at.toISOString()).toBe('2026-11-24T17:00:00.000Z');
  });
});
