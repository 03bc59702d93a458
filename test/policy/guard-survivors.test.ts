/**
 * Guard behaviour Stryker found untested: the do-not-call refusals word for word (an agent
 * decides what to do next from them), calls_honor_sms_opt_outs, and the in-memory ledger
 * answering exactly as the SQLite store does (the policy tests rely on it standing in for
 * the store).
 */
import { describe, expect, it } from 'vitest';
import { OptOutGuard } from '../../src/policy/opt-out-guard.js';
import { hashBody, InMemorySendLedger, type SendLedger, type SendRecord } from '../../src/policy/send-ledger.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { failureOf } from '../helpers/tool-failure.js';

const AT = new Date('2026-11-24T17:00:00Z');
const SENDER = '+15005550006';
const call = (to: string) => ({ to, from: '+15005550999', messagingServiceSid: undefined });

describe('do-not-call refusals', () => {
  it('an SMS STOP blocks a call only with calls_honor_sms_opt_outs, and the refusal says that is the policy', async () => {
    const store = openSqliteStore(':memory:');
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: '+14155550400', source: 'keyword', keyword: 'STOP' }, AT);
    expect(await new OptOutGuard('account').blockingOptOut(store, call('+14155550400'), 'call')).toBeUndefined();
    await expect(new OptOutGuard('account').refuseIfOptedOut(store, call('+14155550400'), 'call')).resolves.toBeUndefined();

    const honouring = new OptOutGuard('account', { callsHonorSmsOptOuts: true });
    const refused = await failureOf(honouring.refuseIfOptedOut(store, call('+14155550400'), 'call'));
    expect(refused.message).toBe(`+14155550400 opted out of messages from ${SENDER} (they replied with an opt-out keyword), and this server's policy treats that as do-not-call too; no call was placed.`);
    expect(refused.nextStep).toBe('Do not call this person. An operator can change calls_honor_sms_opt_outs in the policy, or record documented consent with remove_opt_out.');
    expect(refused.extra).toEqual({ rule: 'do_not_call', opted_out_since: AT.toISOString(), channel: 'sms' });
    // A call refusal is not Twilio's messaging 21610.
    expect(refused.twilioCode).toBeUndefined();
    // It still holds voice and all entries.
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550405', source: 'manual', reason: 'asked not to be called', channel: 'voice' }, AT);
    expect((await honouring.blockingOptOut(store, call('+14155550405'), 'call'))?.channel).toBe('voice');
  });

  it('a do-not-call entry by an operator for every number, and a keyword one for one number', async () => {
    const store = openSqliteStore(':memory:');
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550401', source: 'manual', reason: 'asked not to be called', channel: 'voice' }, AT);
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: '+14155550402', source: 'keyword', keyword: 'STOP', channel: 'all' }, AT);
    const guard = new OptOutGuard();
    const manual = await failureOf(guard.refuseIfOptedOut(store, call('+14155550401'), 'call'));
    expect(manual.message).toBe('+14155550401 is on the do-not-call list for every number (an operator recorded it); no call was placed.');
    expect(manual.nextStep).toBe('Do not call this person. An operator can record documented consent with remove_opt_out (channel "voice").');
    expect(manual.extra).toEqual({ rule: 'do_not_call', opted_out_since: AT.toISOString(), channel: 'voice' });
    const keyword = await failureOf(guard.refuseIfOptedOut(store, call('+14155550402'), 'call'));
    expect(keyword.message).toBe(`+14155550402 is on the do-not-call list for ${SENDER} (they replied with an opt-out keyword); no call was placed.`);
    expect(keyword.extra).toMatchObject({ channel: 'all' });
  });

  it('a voice-only entry does not block messages', async () => {
    const store = openSqliteStore(':memory:');
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550403', source: 'manual', reason: 'asked not to be called', channel: 'voice' }, AT);
    expect(await new OptOutGuard().blockingOptOut(store, call('+14155550403'))).toBeUndefined();
    expect(await new OptOutGuard('sender').blockingOptOut(store, call('+14155550403'))).toBeUndefined();
  });
});

/** Runs `check` against the in-memory ledger and a real SQLite store fed the same records. */
async function bothLedgers(records: SendRecord[], check: (ledger: SendLedger) => Promise<void>): Promise<void> {
  const memory = new InMemorySendLedger();
  const sqlite = openSqliteStore(':memory:');
  for (const ledger of [memory, sqlite]) {
    for (const r of records) await ledger.recordSend(r);
    await check(ledger);
  }
  await sqlite.close();
}

const record = (over: Partial<SendRecord>): SendRecord => ({
  kind: 'message', to: '+14155550500', bodyHash: hashBody('hi'), sid: 'SM1', estimatedCost: 0.01, at: AT, ...over,
});
const keys = (over: Partial<Parameters<SendLedger['readLedger']>[0]> = {}) => ({
  to: '+14155550500', bodyHash: hashBody('hi'), duplicateSince: new Date(AT.getTime() - 3_600_000), hourStart: AT, dayStart: AT, ...over,
});

describe('the in-memory ledger answers as the SQLite store does', () => {
  it('no duplicate lookup without a body hash or a window: a call with no content is not "the same" as another', async () => {
    await bothLedgers([record({ kind: 'call', bodyHash: null, sid: 'CA1' })], async (ledger) => {
      expect((await ledger.readLedger(keys({ bodyHash: null }))).earlier).toBeUndefined();
      expect((await ledger.readLedger(keys({ bodyHash: null, duplicateSince: null }))).earlier).toBeUndefined();
    });
    await bothLedgers([record({})], async (ledger) => {
      // Window off (duplicateSince null): the identical earlier send is not reported.
      expect((await ledger.readLedger(keys({ duplicateSince: null }))).earlier).toBeUndefined();
      expect((await ledger.readLedger(keys())).earlier).toMatchObject({ sid: 'SM1', state: 'sent' });
    });
  });

  it('the window includes its first moment, and the latest identical send is the one named, whatever the order recorded', async () => {
    const older = record({ sid: 'SM-older', at: new Date(AT.getTime() - 600_000) });
    const newer = record({ sid: 'SM-newer', at: new Date(AT.getTime() - 60_000) });
    await bothLedgers([newer, older], async (ledger) => {
      expect((await ledger.readLedger(keys())).earlier?.sid).toBe('SM-newer');
      // Exactly at the start of the window still counts.
      expect((await ledger.readLedger(keys({ duplicateSince: newer.at }))).earlier?.sid).toBe('SM-newer');
    });
    await bothLedgers([older, newer], async (ledger) => {
      expect((await ledger.readLedger(keys())).earlier?.sid).toBe('SM-newer');
    });
  });

  it('of two identical sends at the same moment, the later recorded is named, with its 1-based attempt number', async () => {
    await bothLedgers([record({ sid: 'SM-a' }), record({ sid: 'SM-b' })], async (ledger) => {
      expect((await ledger.readLedger(keys())).earlier).toMatchObject({ sid: 'SM-b', reservationId: 2 });
    });
    await bothLedgers([record({ sid: 'SM-only' })], async (ledger) => {
      expect((await ledger.readLedger(keys())).earlier).toMatchObject({ sid: 'SM-only', reservationId: 1 });
    });
  });
});
