/**
 * Guard behaviour Stryker found untested: the do-not-call refusals word for word (an agent
 * decides what to do next from them), calls_honor_sms_opt_outs, and the in-memory ledger
 * answering exactly as the SQLite store does (the policy tests rely on it standing in for
 * the store).
 */
import { describe, expect, it } from 'vitest';
import { OptOutGuard } from '../../src/policy/opt-out-guard.js';
import { LivePrices } from '../../src/policy/live-prices.js';
import { countryOfNumber, loadPhoneMetadata, NeedsConfirmation, PolicyEngine } from '../../src/policy/policy-engine.js';
import { loadPolicy, type Policy } from '../../src/policy/policy-schema.js';
import type { OutgoingCall, OutgoingMessage } from '../../src/policy/send-guard.js';
import { hashBody, InMemorySendLedger, type LedgerSnapshot, type SendLedger, type SendRecord } from '../../src/policy/send-ledger.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { failureOf } from '../helpers/tool-failure.js';

const AT = new Date('2026-11-24T17:00:00Z');
const SENDER = '+15005550006';
const call = (to: string) => ({ to, from: '+15005550999', messagingServiceSid: undefined });

describe('phone metadata', () => {
  // First in this file on purpose: the metadata loads once per module, on the first check.
  it('countryOfNumber refuses to guess before the metadata is loaded', () => {
    expect(() => countryOfNumber('+14155550100')).toThrow('countryOfNumber called before the phone metadata was loaded');
  });
});

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

// ---------------------------------------------------------------------------------------
// The policy rules that read the ledger, judged against a snapshot given by hand: the
// snapshot is exactly what the store hands the engine inside the reserving transaction.

const NOON_NY = new Date('2026-11-24T17:00:00Z');
const FROM = '+14155550000';
const ZERO = { messagesThisHour: 0, messagesToday: 0, callsToday: 0, spendToday: 0 };
const snapshot = (over: Partial<LedgerSnapshot> = {}): LedgerSnapshot => ({ totals: ZERO, earlier: undefined, contacted: true, ...over });
const engineFor = (env: Record<string, string> = {}) =>
  new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off', ...env } }), new InMemorySendLedger(), FROM, () => NOON_NY);
const text = (to: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({ channel: 'sms', to, from: FROM, messagingServiceSid: undefined, body: 'hello', segments: 1, ...extra });
const decideText = async (engine: PolicyEngine, m: OutgoingMessage, ledger: LedgerSnapshot) => engine.decideMessage(await engine.prepareMessage(m), ledger);
const decideCall = async (engine: PolicyEngine, c: OutgoingCall, ledger: LedgerSnapshot) => engine.decideCall(await engine.prepareCall(c), ledger);
const refusalOf = (fn: () => Promise<unknown>) => failureOf(fn());

describe('duplicates: what the refusal says about the earlier attempt', () => {
  const before = new Date(NOON_NY.getTime() - 60_000);
  const when = before.toISOString();

  it('a text still being sent is a possible duplicate, with where to look', async () => {
    const refused = await refusalOf(() => decideText(engineFor(), text('+14155550601'), snapshot({ earlier: { sid: null, at: before, state: 'in_flight', reservationId: 7 } })));
    expect(refused.message).toBe(`Possible duplicate: the same text to +14155550601 is being sent right now (attempt #7, started ${when}), within the 10-minute window.`);
    expect(refused.nextStep).toBe(`Check list_messages for +14155550601 after ${when} (or get_audit_log) before sending again. If a second copy is really wanted, pass allow_duplicate: true.`);
    expect(refused.extra).toEqual({ rule: 'duplicate', earlier_sid: null, earlier_at: when, earlier_state: 'in_flight', earlier_attempt: 7 });
  });

  it('a call speaks of calls: get_call for a placed one, list_calls for one with an unknown outcome', async () => {
    const c = { to: '+14155550602', from: FROM, content: '<Response/>' };
    const placed = await refusalOf(() => decideCall(engineFor(), c, snapshot({ earlier: { sid: 'CA1', at: before, state: 'sent', reservationId: 3 } })));
    expect(placed.message).toBe(`Duplicate: the same call went to +14155550602 at ${when} (CA1), within the 10-minute window.`);
    expect(placed.nextStep).toBe('Check get_call for that SID instead of calling again. If a second copy is really wanted, pass allow_duplicate: true.');
    const lost = await refusalOf(() => decideCall(engineFor(), c, snapshot({ earlier: { sid: null, at: before, state: 'outcome_unknown', reservationId: 4 } })));
    expect(lost.message).toBe(
      `Possible duplicate: an attempt to send the same call to +14155550602 at ${when} has an unknown outcome (attempt #4: Twilio's answer was lost, so it may have been delivered), within the 10-minute window.`,
    );
    expect(lost.nextStep).toBe(`Check list_calls for +14155550602 after ${when} (or get_audit_log) before calling again. If a second copy is really wanted, pass allow_duplicate: true.`);
  });

  it('allow_duplicate sends with a warning naming the earlier send; a send with no content is never a duplicate', async () => {
    const earlier = { sid: 'SM1', at: before, state: 'sent' as const, reservationId: 1 };
    const again = await decideText(engineFor(), text('+14155550603', { allowDuplicate: true }), snapshot({ earlier }));
    expect(again.warnings).toEqual([`Possible duplicate: the same text went to +14155550603 at ${when} (SM1); sending again because allow_duplicate: true.`]);
    await expect(decideCall(engineFor(), { to: '+14155550603', from: FROM }, snapshot({ earlier }))).resolves.toMatchObject({ allowed: true });
  });
});

describe('caps: the boundaries', () => {
  it('warns from 80% of a count cap, not before; the daily and call caps warn too', async () => {
    const engine = engineFor({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '10', TWILIO_MCP_MAX_MESSAGES_PER_DAY: '100', TWILIO_MCP_MAX_CALLS_PER_DAY: '2' });
    expect((await decideText(engine, text('+14155550701'), snapshot({ totals: { ...ZERO, messagesThisHour: 6 } }))).warnings).toEqual([]);
    expect((await decideText(engine, text('+14155550701'), snapshot({ totals: { ...ZERO, messagesThisHour: 7 } }))).warnings).toEqual([
      'Hourly message cap: this is 8 of 10 (resets at 2026-11-24T18:00:00.000Z).',
    ]);
    expect((await decideText(engine, text('+14155550701'), snapshot({ totals: { ...ZERO, messagesToday: 79 } }))).warnings).toEqual([
      'Daily message cap: this is 80 of 100 (resets at 2026-11-25T00:00:00.000Z).',
    ]);
    expect((await decideCall(engine, { to: '+14155550701', from: FROM }, snapshot({ totals: { ...ZERO, callsToday: 1 } }))).warnings).toEqual([
      'Daily call cap: this is 2 of 2 (resets at 2026-11-25T00:00:00.000Z).',
    ]);
    const full = await refusalOf(() => decideCall(engine, { to: '+14155550701', from: FROM }, snapshot({ totals: { ...ZERO, callsToday: 2 } })));
    expect(full.extra).toEqual({ rule: 'caps', cap: 'calls_per_day', used: 2, limit: 2, resets_at: '2026-11-25T00:00:00.000Z' });
    expect(full.nextStep).toBe('It resets at 2026-11-25T00:00:00.000Z (UTC midnight); an operator can raise TWILIO_MCP_MAX_CALLS_PER_DAY.');
  });

  it('the spend cap allows a send that reaches it exactly, refuses one that passes it, and warns from 80%', async () => {
    // An MMS is $0.02 in the price table.
    const engine = engineFor({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.1' });
    const mms = text('+14155550702', { channel: 'mms' });
    expect((await decideText(engine, mms, snapshot({ totals: { ...ZERO, spendToday: 0.05 } }))).warnings).toEqual([]);
    expect((await decideText(engine, mms, snapshot({ totals: { ...ZERO, spendToday: 0.07 } }))).warnings).toEqual([
      'Daily spend cap: $0.0900 of $0.1000 estimated after this message (resets at 2026-11-25T00:00:00.000Z).',
    ]);
    await expect(decideText(engine, mms, snapshot({ totals: { ...ZERO, spendToday: 0.08 } }))).resolves.toMatchObject({ allowed: true, estimatedCost: 0.02 });
    const refused = await refusalOf(() => decideText(engine, mms, snapshot({ totals: { ...ZERO, spendToday: 0.09 } })));
    expect(refused.extra).toEqual({ rule: 'caps', cap: 'spend_per_day_usd', spent_usd: 0.09, this_send_usd: 0.02, limit_usd: 0.1, resets_at: '2026-11-25T00:00:00.000Z' });
    expect(refused.nextStep).toBe("It resets at 2026-11-25T00:00:00.000Z (UTC midnight); an operator can raise TWILIO_MCP_MAX_SPEND_PER_DAY_USD (estimates use the policy's price table).");
  });

  it('spend is compared in dollars as written, not in binary fractions: exactly the cap is allowed, exactly 80% warns', async () => {
    // In floating point 0.28 + 0.02 > 0.3 and 0.06 + 0.02 < 0.1 × 0.8: money must not be judged that way.
    const atCap = engineFor({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.3' });
    await expect(decideText(atCap, text('+14155550703', { channel: 'mms' }), snapshot({ totals: { ...ZERO, spendToday: 0.28 } }))).resolves.toMatchObject({ allowed: true });
    const eighty = engineFor({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.1' });
    expect((await decideText(eighty, text('+14155550704', { channel: 'mms' }), snapshot({ totals: { ...ZERO, spendToday: 0.06 } }))).warnings).toEqual([
      'Daily spend cap: $0.0800 of $0.1000 estimated after this message (resets at 2026-11-25T00:00:00.000Z).',
    ]);
  });
});

describe('first contact for calls', () => {
  it('asks to place a first call, and "refuse" refuses it', async () => {
    const c = { to: '+14155550801', from: FROM };
    const asked = await refusalOf(() => decideCall(engineFor({ TWILIO_MCP_FIRST_CONTACT: 'confirm' }), c, snapshot({ contacted: false })));
    expect(asked).toBeInstanceOf(NeedsConfirmation);
    expect(asked.message).toBe('This would be the first call ever placed to +14155550801. Place it?');
    expect(asked.extra).toEqual({ rule: 'first_contact' });
    const refused = await refusalOf(() => decideCall(engineFor({ TWILIO_MCP_FIRST_CONTACT: 'refuse' }), c, snapshot({ contacted: false })));
    expect(refused.extra).toEqual({ rule: 'first_contact' });
    expect(refused.nextStep).toBe('Only numbers contacted before may be contacted; an operator can set first_contact / TWILIO_MCP_FIRST_CONTACT to "allow" or "confirm".');
    await expect(decideCall(engineFor({ TWILIO_MCP_FIRST_CONTACT: 'refuse' }), { ...c, firstContactConfirmed: true }, snapshot({ contacted: false }))).resolves.toMatchObject({ allowed: true });
  });
});

describe('destination countries: what the refusal tells the operator', () => {
  it('with no sender anywhere: the refusal says the sender country is unknown, naming the service when there is one', async () => {
    const engine = new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } }), new InMemorySendLedger(), undefined, () => NOON_NY);
    const viaService = await refusalOf(() => engine.prepareMessage(text('+447700900123', { from: undefined, messagingServiceSid: 'MG123' })));
    expect(viaService.message).toBe("Policy refuses +447700900123: the sender's country is unknown (no sender number, and the numbers of MG123 could not be read), so no destination is allowed by default.");
    expect(viaService.nextStep).toBe(
      'An operator sets allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES (e.g. "US,CA"), or passes "from" with one of your numbers; the default allows only the sender\'s country because SMS-pumping fraud targets foreign premium destinations.',
    );
    expect(viaService.extra).toEqual({ rule: 'allowed_countries', destination_country: 'GB', allowed_countries: [] });
    const noService = await refusalOf(() => engine.prepareMessage(text('+447700900123', { from: undefined })));
    expect(noService.message).toBe("Policy refuses +447700900123: the sender's country is unknown (no sender number), so no destination is allowed by default.");
  });

  it("the default's reason is given only when the operator set no list", async () => {
    const byDefault = await refusalOf(() => engineFor().prepareMessage(text('+33612345678')));
    expect(byDefault.nextStep).toBe("If this destination is intended, an operator adds FR to allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES. The default allows only the sender's country because SMS-pumping fraud targets such destinations.");
    const byList = await refusalOf(() => engineFor({ TWILIO_MCP_ALLOWED_COUNTRIES: 'US,GB' }).prepareMessage(text('+33612345678')));
    expect(byList.nextStep).toMatch(/^If this destination is intended, an operator adds FR to allowed_countries \/ TWILIO_MCP_ALLOWED_COUNTRIES\. /);
    expect(byList.nextStep).not.toMatch(/The default allows only/);
    // Every sentence starts with a capital: no fragment is left when the default's reason is left out.
    expect(byList.nextStep).toBe('If this destination is intended, an operator adds FR to allowed_countries / TWILIO_MCP_ALLOWED_COUNTRIES. Keep the list to the countries you serve: SMS-pumping fraud targets such destinations.');
    expect(byList.message).toBe('Policy refuses +33612345678: destination country FR (France, +33) is not allowed (allowed: US (United States, +1), GB (United Kingdom, +44)).');
  });

  it('a number no country or calling code can be read from is refused as unrecognised', async () => {
    const refused = await refusalOf(() => engineFor().prepareMessage(text('+99912345678')));
    expect(refused.message).toBe('Policy refuses +99912345678: the destination has no country (an unrecognised number) (allowed: US (United States, +1)).');
    expect(refused.nextStep).toMatch(/^If this destination is intended, an operator adds it to allowed_countries/);
    expect(refused.extra).toEqual({ rule: 'allowed_countries', destination_country: null, allowed_countries: ['US'] });
  });
});

describe('where a cost estimate comes from (the spend cap counts it)', () => {
  const withPrices = (prices: Partial<Policy['prices']>, live?: LivePrices) => {
    const policy = loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off', TWILIO_MCP_ALLOWED_COUNTRIES: '*' } });
    return new PolicyEngine({ ...policy, prices: { ...policy.prices, ...prices } }, new InMemorySendLedger(), FROM, () => NOON_NY, undefined, live);
  };
  /** Twilio's Pricing API stand-in: US only; records what it was asked. */
  const pricingApi = () => {
    const asked: string[] = [];
    const live = new LivePrices({
      smsPerSegment: async (country) => (asked.push(`sms:${country}`), country === 'US' ? 0.0079 : undefined),
      callPerMinute: async (country) => (asked.push(`call:${country}`), country === 'US' ? 0.013 : undefined),
    });
    return { asked, live };
  };
  const decide = async (engine: PolicyEngine, m: OutgoingMessage) => engine.decideMessage(await engine.prepareMessage(m), snapshot());
  const decideVoice = async (engine: PolicyEngine, c: OutgoingCall) => engine.decideCall(await engine.prepareCall(c), snapshot());

  it("SMS: the operator's price wins, then Twilio's Pricing API, then the table; each times the segments", async () => {
    const api = pricingApi();
    const own = await decide(withPrices({ sms_per_segment: { US: 0.01 } }, api.live), text('+14155550901', { segments: 2 }));
    expect(own).toMatchObject({ priceSource: 'policy', estimatedCost: 0.02, segments: 2 });
    expect(api.asked).toEqual([]);
    const live = await decide(withPrices({}, api.live), text('+14155550901', { segments: 3 }));
    expect(live).toMatchObject({ priceSource: 'pricing_api', segments: 3 });
    expect(live.estimatedCost).toBeCloseTo(3 * 0.0079, 10);
    // The API has no price for GB: the table's.
    const table = await decide(withPrices({}, api.live), text('+447700900123', { segments: 2 }));
    expect(table).toMatchObject({ priceSource: 'price_table' });
    expect(table.estimatedCost).toBeCloseTo(2 * 0.0524, 10);
    expect(api.asked).toEqual(['sms:US', 'sms:GB']);
    expect(await decide(withPrices({}), text('+14155550901'))).toMatchObject({ priceSource: 'price_table', estimatedCost: 0.0083 });
  });

  it('MMS and WhatsApp: a flat price, from the policy when it sets one', async () => {
    expect(await decide(withPrices({}), text('+14155550902', { channel: 'mms', segments: 4 }))).toMatchObject({ priceSource: 'price_table', estimatedCost: 0.02, segments: 1 });
    expect(await decide(withPrices({ mms_per_message: 0.03 }), text('+14155550902', { channel: 'mms' }))).toMatchObject({ priceSource: 'policy', estimatedCost: 0.03 });
    expect(await decide(withPrices({ whatsapp_per_message: 0.004 }), text('whatsapp:+14155550902', { channel: 'whatsapp' }))).toMatchObject({ priceSource: 'policy', estimatedCost: 0.004 });
    expect(await decide(withPrices({}), text('whatsapp:+14155550902', { channel: 'whatsapp' }))).toMatchObject({ priceSource: 'price_table' });
  });

  it('calls: whole minutes (at least one), priced the same way', async () => {
    const api = pricingApi();
    const call = (expectedMinutes?: number) => ({ to: '+14155550903', from: FROM, expectedMinutes });
    expect(await decideVoice(withPrices({ call_per_minute: { US: 0.02 } }, api.live), call(2.2))).toMatchObject({ priceSource: 'policy', estimatedMinutes: 3, estimatedCost: 0.06 });
    expect(api.asked).toEqual([]);
    const live = await decideVoice(withPrices({}, api.live), call(0));
    expect(live).toMatchObject({ priceSource: 'pricing_api', estimatedMinutes: 1, estimatedCost: 0.013 });
    expect(await decideVoice(withPrices({}), call(2))).toMatchObject({ priceSource: 'price_table', estimatedMinutes: 2, estimatedCost: 0.028 });
    expect(api.asked).toEqual(['call:US']);
  });
});

describe('what the engine tells the rest of the server', () => {
  it("a campaign's own cap wins over the general one, and says where it is set", () => {
    const policy = loadPolicy({ env: { TWILIO_MCP_MAX_MESSAGES_PER_CAMPAIGN: '100' } });
    const engine = new PolicyEngine({ ...policy, campaign_caps: { spring: 5 } }, new InMemorySendLedger(), FROM);
    expect(engine.campaignCap('spring')).toEqual({ limit: 5, setBy: 'campaign_caps["spring"] in the policy file' });
    expect(engine.campaignCap('autumn')).toEqual({ limit: 100, setBy: 'caps.messages_per_campaign (TWILIO_MCP_MAX_MESSAGES_PER_CAMPAIGN)' });
    expect(new PolicyEngine(loadPolicy({ env: {} }), new InMemorySendLedger(), FROM).campaignCap('spring')).toBeUndefined();
  });

  it('the allowed countries of a sender: the list when set, else the sending number\'s country, else the default sender\'s', async () => {
    await loadPhoneMetadata();
    const engine = engineFor();
    expect(engine.allowedCountries('whatsapp:+447700900999')).toEqual(['GB']);
    expect(engine.allowedCountries(`MG${'a'.repeat(32)}`)).toEqual(['US']);
    expect(engine.allowedCountries(undefined)).toEqual(['US']);
    expect(engineFor({ TWILIO_MCP_ALLOWED_COUNTRIES: 'CA,US' }).allowedCountries('+447700900999')).toEqual(['CA', 'US']);
    expect(new PolicyEngine(loadPolicy({ env: {} }), new InMemorySendLedger(), undefined).allowedCountries(undefined)).toBeUndefined();
  });

  it('first-contact settings and body redaction are read from the policy', () => {
    const engine = engineFor({ TWILIO_MCP_FIRST_CONTACT: 'confirm' });
    expect(engine.firstContact).toBe('confirm');
    expect(engine.firstContactWithoutElicitation).toBe('refuse');
    const policy = loadPolicy({ env: {} });
    for (const redact of [true, false]) expect(new PolicyEngine({ ...policy, audit: { ...policy.audit, redact_bodies: redact } }, new InMemorySendLedger(), FROM).redactBodies).toBe(redact);
  });
});

describe('rule details the first runs left open', () => {
  it('quiet hours name what is held (messages here), and say so when the zones of a number never leave quiet hours together', async () => {
    const engine = new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_ALLOWED_COUNTRIES: '*' } }), new InMemorySendLedger(), FROM, () => NOON_NY);
    const nightInNewYork = new Date('2026-11-25T03:14:00Z');
    const held = await failureOf(engine.prepareMessage(text('+12125550100'), { now: nightInNewYork }));
    expect(held.message).toBe('Quiet hours: it is 22:14 for the recipient (America/New_York); quiet hours are 21:00–08:00 recipient local time, and no messages go out then.');
    // A toll-free number may ring anywhere in NANP, from Newfoundland to Adak (UTC-10): with only 07:00–08:00
    // outside quiet hours, no moment is outside them in every zone at once.
    const narrow = new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: '08:00-07:00' } }), new InMemorySendLedger(), FROM, () => NOON_NY);
    const never = await failureOf(narrow.prepareMessage(text('+18005550100')));
    expect(never.extra).toMatchObject({ rule: 'quiet_hours', resumes_at: null });
    expect(never.nextStep).toMatch(/^Quiet hours never end in every zone at once for this number \([^)]*America\/Adak[^)]*America\/New_York[^)]*\): narrow quiet_hours, or pass transactional: true for a time-critical message such as a verification code\.$/);
  });

  it('with the duplicate window off, an identical earlier send never refuses', async () => {
    const earlier = { sid: 'SM1', at: new Date(NOON_NY.getTime() - 60_000), state: 'sent' as const, reservationId: 1 };
    const decision = await decideText(engineFor({ TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '0' }), text('+14155550604'), snapshot({ earlier }));
    expect(decision.warnings).toEqual([]);
  });

  it('the daily message cap names itself in the refusal', async () => {
    const refused = await refusalOf(() => decideText(engineFor({ TWILIO_MCP_MAX_MESSAGES_PER_DAY: '5' }), text('+14155550702'), snapshot({ totals: { ...ZERO, messagesToday: 5 } })));
    expect(refused.extra).toEqual({ rule: 'caps', cap: 'messages_per_day', used: 5, limit: 5, resets_at: '2026-11-25T00:00:00.000Z' });
  });
});

describe('more engine details', () => {
  it('a confirmation other than first contact (buying a number) names its own rule; both ask the user', () => {
    const buying = new NeedsConfirmation('Buy +14155550100 for $1.15 a month?', 'allow');
    expect(buying.extra).toEqual({ rule: 'confirmation' });
    expect(buying.nextStep).toBe('Ask the user to confirm.');
    expect(new NeedsConfirmation('First message?').extra).toEqual({ rule: 'first_contact' });
  });

  it('amounts of a dollar or more are shown in cents, smaller ones to the hundredth of a cent', async () => {
    const engine = engineFor({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '1' });
    const refused = await refusalOf(() => decideText(engine, text('+14155550705', { channel: 'mms' }), snapshot({ totals: { ...ZERO, spendToday: 1 } })));
    expect(refused.message).toBe('Daily spend cap: $1.00 estimated spend today + $0.0200 for this message would exceed $1.00.');
  });

  it('an engine without an injected clock judges at the real time', async () => {
    const engine = new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } }), new InMemorySendLedger(), FROM);
    const before = Date.now();
    const prepared = await engine.prepareMessage(text('+14155550706'));
    expect(prepared.at.getTime()).toBeGreaterThanOrEqual(before);
    await expect(engine.checkMessage(text('+14155550706'))).resolves.toMatchObject({ allowed: true });
  });

  it("an alphanumeric sender ID has no country: the default sender's country applies", async () => {
    await expect(engineFor().prepareMessage(text('+14155550707', { from: 'ACME' }))).resolves.toMatchObject({ subject: { to: '+14155550707' } });
    expect((await refusalOf(() => engineFor().prepareMessage(text('+447700900123', { from: 'ACME' })))).extra).toMatchObject({ allowed_countries: ['US'] });
  });

  it("a Messaging Service with no numbers falls back to the default sender's country", async () => {
    const engine = new PolicyEngine(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } }), new InMemorySendLedger(), FROM, () => NOON_NY, async () => []);
    await expect(engine.prepareMessage(text('+14155550708', { from: undefined, messagingServiceSid: 'MGEMPTY' }))).resolves.toBeDefined();
  });

  it('a call with allow_duplicate goes through with a warning', async () => {
    const earlier = { sid: 'CA9', at: new Date(NOON_NY.getTime() - 60_000), state: 'sent' as const, reservationId: 9 };
    const decision = await decideCall(engineFor(), { to: '+14155550709', from: FROM, content: '<Response/>', allowDuplicate: true }, snapshot({ earlier }));
    expect(decision.warnings).toEqual([`Possible duplicate: the same call went to +14155550709 at ${earlier.at.toISOString()} (CA9); sending again because allow_duplicate: true.`]);
  });
});

describe('cost source of flat-priced channels', () => {
  it("an MMS priced from the table says so even when the policy prices WhatsApp (and the reverse)", async () => {
    const policy = loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } });
    const priced = (prices: Partial<Policy['prices']>) => new PolicyEngine({ ...policy, prices: { ...policy.prices, ...prices } }, new InMemorySendLedger(), FROM, () => NOON_NY);
    const decide = async (engine: PolicyEngine, m: OutgoingMessage) => engine.decideMessage(await engine.prepareMessage(m), snapshot());
    expect(await decide(priced({ whatsapp_per_message: 0.004 }), text('+14155550710', { channel: 'mms' }))).toMatchObject({ priceSource: 'price_table', estimatedCost: 0.02 });
    expect(await decide(priced({ mms_per_message: 0.03 }), text('whatsapp:+14155550710', { channel: 'whatsapp' }))).toMatchObject({ priceSource: 'price_table' });
  });
});

describe('last survivors of the confirmation run', () => {
  it('a duplicate text that went out says to check get_message instead of sending again', async () => {
    const earlier = { sid: 'SM7', at: new Date(NOON_NY.getTime() - 60_000), state: 'sent' as const, reservationId: 7 };
    const refused = await refusalOf(() => decideText(engineFor(), text('+14155550711'), snapshot({ earlier })));
    expect(refused.nextStep).toBe('Check get_message for that SID instead of sending again. If a second copy is really wanted, pass allow_duplicate: true.');
  });

  it("a live per-minute price is multiplied by the call's minutes", async () => {
    const policy = loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } });
    const live = new LivePrices({ smsPerSegment: async () => undefined, callPerMinute: async () => 0.013 });
    const engine = new PolicyEngine(policy, new InMemorySendLedger(), FROM, () => NOON_NY, undefined, live);
    const decision = engine.decideCall(await engine.prepareCall({ to: '+14155550712', from: FROM, expectedMinutes: 3 }), snapshot());
    expect(decision).toMatchObject({ priceSource: 'pricing_api', estimatedMinutes: 3 });
    expect(decision.estimatedCost).toBeCloseTo(0.039, 10);
  });
});
