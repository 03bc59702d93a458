/**
 * The policy rules against the in-memory ledger: the ledger is the engine's only state,
 * and each check is judged at an injected moment (no real clock, no waiting).
 */
import { describe, expect, it } from 'vitest';
import { countryOfNumber, loadPhoneMetadata, NeedsConfirmation, PolicyEngine } from '../../src/policy/policy-engine.js';
import { loadPolicy } from '../../src/policy/policy-schema.js';
import type { OutgoingCall, OutgoingMessage } from '../../src/policy/send-guard.js';
import { InMemorySendLedger } from '../../src/policy/send-ledger.js';
import { failureOf } from '../helpers/tool-failure.js';

const SENDER = '+14155550000';
const NOON_NY = new Date('2026-11-24T17:00:00Z'); // 12:00 New York, 09:00 Los Angeles, 17:00 London
const NIGHT_NY = new Date('2026-11-25T03:14:00Z'); // 22:14 New York, 19:14 Los Angeles

function engineWith(env: Record<string, string> = {}, sender: string | undefined = SENDER) {
  const ledger = new InMemorySendLedger();
  return { ledger, engine: new PolicyEngine(loadPolicy({ env }), ledger, sender, () => NOON_NY) };
}
const sms = (to: string, body = 'hello', extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  channel: 'sms', to, from: SENDER, messagingServiceSid: undefined, body, segments: 1, ...extra,
});
const call = (to: string, extra: Partial<OutgoingCall> = {}): OutgoingCall => ({ to, from: SENDER, content: '<Response><Say>Hi</Say></Response>', ...extra });

describe('deny and allow lists', () => {
  it('deny wins over allow, and entries match as prefixes', async () => {
    const { engine } = engineWith({ TWILIO_MCP_ALLOW_NUMBERS: '+1415,+1212', TWILIO_MCP_DENY_NUMBERS: '+1415555' });
    const denied = await failureOf(engine.checkMessage(sms('+14155550100')));
    expect(denied.message).toBe('Policy refuses +14155550100: it matches the deny list entry +1415555.');
    expect(denied.extra).toMatchObject({ rule: 'deny_numbers', matched: '+1415555' });
    await expect(engine.checkMessage(sms('+14158880100'))).resolves.toMatchObject({ allowed: true });
    await expect(engine.checkMessage(sms('+12125550100'))).resolves.toMatchObject({ allowed: true });
    const notAllowed = await failureOf(engine.checkMessage(sms('+13125550100')));
    expect(notAllowed.message).toMatch(/only numbers on the allow list may be contacted \(\+1415, \+1212\)/);
    expect(notAllowed.extra?.rule).toBe('allow_numbers');
  });

  it('an exact number on both lists is denied; whatsapp: prefixes are ignored', async () => {
    const { engine } = engineWith({ TWILIO_MCP_ALLOW_NUMBERS: '+14155550100', TWILIO_MCP_DENY_NUMBERS: '+14155550100' });
    const refused = await failureOf(engine.checkMessage(sms('whatsapp:+14155550100', 'hi', { channel: 'whatsapp' })));
    expect(refused.extra?.rule).toBe('deny_numbers');
  });

  it('denies premium prefixes such as +1900 for calls too', async () => {
    const { engine } = engineWith({ TWILIO_MCP_DENY_NUMBERS: '+1900' });
    expect((await failureOf(engine.checkCall(call('+19005550100')))).message).toMatch(/deny list entry \+1900/);
  });
});

describe('destination countries', () => {
  it("defaults to the sender's country and says why the others are refused", async () => {
    const { engine } = engineWith();
    const refused = await failureOf(engine.checkMessage(sms('+447700900123')));
    expect(refused.message).toBe(
      'Policy refuses +447700900123: destination country GB (United Kingdom, +44) is not allowed (allowed: US (United States, +1)). ' +
        'Note: +44 is shared by GB, GG, IM, JE, so check the number is the territory you mean.',
    );
    expect(refused.nextStep).toMatch(/adds GB to allowed_countries .*SMS-pumping fraud targets such destinations/);
    expect(refused.extra).toMatchObject({ rule: 'allowed_countries', destination_country: 'GB', allowed_countries: ['US'] });
  });

  it('takes the country of the sending number over the default sender', async () => {
    const { engine } = engineWith();
    await expect(engine.checkMessage(sms('+447700900123', 'hi', { from: '+447700900999' }))).resolves.toMatchObject({ allowed: true });
    expect((await failureOf(engine.checkMessage(sms('+14155550100', 'hi', { from: '+447700900999' })))).message).toMatch(/country US \(United States, \+1\) is not allowed \(allowed: GB \(United Kingdom, \+44\)\)/);
  });

  it("falls back to the calling code's main country when libphonenumber cannot place the sender", async () => {
    await loadPhoneMetadata();
    expect(countryOfNumber('+15005550006')).toBe('US'); // Twilio test number
    expect(countryOfNumber('+15551234567')).toBe('US'); // fictional 555 range: +1's main country, not Antigua
    expect(countryOfNumber('+70001234567')).toBe('RU');
    expect(countryOfNumber('+882123456789')).toBeUndefined(); // international network: no country
    const { engine } = engineWith({}, '+15551234567');
    await expect(engine.checkMessage(sms('+14155550100', 'hi', { from: undefined, messagingServiceSid: 'MG123' }))).resolves.toMatchObject({ allowed: true });
  });

  it('refuses non-geographic numbers, a favourite of SMS pumping', async () => {
    const { engine } = engineWith({ TWILIO_MCP_ALLOWED_COUNTRIES: 'US,GB' });
    const refused = await failureOf(engine.checkMessage(sms('+882123456789')));
    expect(refused.message).toMatch(/the destination has no country \(\+882 \(non-geographic: no country\)\) \(allowed: US \(United States, \+1\), GB \(United Kingdom, \+44\)\)/);
  });

  it('an explicit list widens the default; "*" allows all, with a warning', async () => {
    await expect(engineWith({ TWILIO_MCP_ALLOWED_COUNTRIES: 'us,gb' }).engine.checkMessage(sms('+447700900123'))).resolves.toMatchObject({ allowed: true });
    const all = await engineWith({ TWILIO_MCP_ALLOWED_COUNTRIES: '*' }).engine.checkMessage(sms('+2348031234567'));
    expect(all.warnings.join(' ')).toMatch(/Every destination country is allowed/);
  });

  it('without any sender number nothing is allowed by default, and the refusal says how to fix it', async () => {
    const engine = new PolicyEngine(loadPolicy({ env: {} }), new InMemorySendLedger(), undefined, () => NOON_NY);
    for (const to of ['+447700900123', '+18765550100', '+2348031234567', '+14155550100']) {
      const refused = await failureOf(engine.checkMessage(sms(to, 'hi', { from: undefined, messagingServiceSid: 'MG123' })));
      expect(refused.extra).toMatchObject({ rule: 'allowed_countries', allowed_countries: [] });
      expect(refused.nextStep).toMatch(/TWILIO_MCP_ALLOWED_COUNTRIES/);
    }
  });

  it("through a Messaging Service the service's numbers give the country; a failed read allows nothing", async () => {
    const asked: string[] = [];
    const engine = new PolicyEngine(loadPolicy({ env: {} }), new InMemorySendLedger(), undefined, () => NOON_NY, async (sid) => {
      asked.push(sid);
      return sid === 'MGGB' ? ['GB'] : Promise.reject(new Error('unreachable'));
    });
    const viaService = (to: string, sid: string) => sms(to, 'hi', { from: undefined, messagingServiceSid: sid });
    await expect(engine.checkMessage(viaService('+447700900123', 'MGGB'))).resolves.toMatchObject({ allowed: true });
    expect((await failureOf(engine.checkMessage(viaService('+14155550100', 'MGGB')))).extra).toMatchObject({ rule: 'allowed_countries', allowed_countries: ['GB'] });
    expect((await failureOf(engine.checkMessage(viaService('+447700900123', 'MGXX')))).extra).toMatchObject({ rule: 'allowed_countries', allowed_countries: [] });
    expect(asked).toEqual(['MGGB', 'MGGB', 'MGXX']);
  });
});

describe('quiet hours in the recipient\'s time zone', () => {
  it('refuses at 22:14 in New York with the local time, the window and when to retry', async () => {
    const { engine } = engineWith();
    const refused = await failureOf(engine.checkMessage(sms('+12125550100'), { now: NIGHT_NY }));
    expect(refused.message).toMatch(/^Quiet hours: it is 22:14 for the recipient \(America\/New_York\); quiet hours are 21:00–08:00/);
    expect(refused.nextStep).toBe(
      'Retry after 08:00 local time (2026-11-25T13:00:00.000Z), or pass transactional: true for a time-critical message such as a verification code.',
    );
    expect(refused.extra).toMatchObject({ rule: 'quiet_hours', recipient_time_zone: 'America/New_York', resumes_at: '2026-11-25T13:00:00.000Z' });
  });

  it('uses the area code inside NANP: the same moment is 19:14 in Los Angeles', async () => {
    const { engine } = engineWith();
    await expect(engine.checkMessage(sms('+14155550100'), { now: NIGHT_NY })).resolves.toMatchObject({ allowed: true });
  });

  it('judges other countries in their own zone', async () => {
    const { engine } = engineWith({ TWILIO_MCP_ALLOWED_COUNTRIES: '*' });
    // 03:14 UTC is 12:14 in Tokyo, 03:14 in London, 14:14 in Sydney (summer time).
    await expect(engine.checkMessage(sms('+819012345678'), { now: NIGHT_NY })).resolves.toMatchObject({ allowed: true });
    await expect(engine.checkMessage(sms('+61412345678'), { now: NIGHT_NY })).resolves.toMatchObject({ allowed: true });
    const london = await failureOf(engine.checkMessage(sms('+447700900123'), { now: NIGHT_NY }));
    expect(london.message).toMatch(/it is 03:14 for the recipient \(Europe\/London, one of 3 zones this number may be in\)/);
    expect(london.extra?.resumes_at).toBe('2026-11-25T08:00:00.000Z');
  });

  it('gives the right resume time across a daylight-saving change inside the window', async () => {
    const { engine } = engineWith();
    // 2026-03-08: New York springs forward at 02:00. 22:00 EST on the 7th = 03:00Z on the 8th; 08:00 EDT = 12:00Z.
    const refused = await failureOf(engine.checkMessage(sms('+12125550100'), { now: new Date('2026-03-08T03:00:00Z') }));
    expect(refused.extra?.resumes_at).toBe('2026-03-08T12:00:00.000Z');
  });

  it('lets transactional messages and calls through, with a warning', async () => {
    const { engine } = engineWith();
    const decision = await engine.checkMessage(sms('+12125550100', 'Your code is 123456', { transactional: true }), { now: NIGHT_NY });
    expect(decision.warnings.join(' ')).toMatch(/Sent during quiet hours \(22:14 for the recipient, America\/New_York.*transactional: true/);
    const refusedCall = await failureOf(engine.checkCall(call('+12125550100'), { now: NIGHT_NY }));
    expect(refusedCall.message).toMatch(/no calls go out then/);
    await expect(engine.checkCall(call('+12125550100', { transactional: true }), { now: NIGHT_NY })).resolves.toMatchObject({ allowed: true });
  });

  it('places US area codes the old hand-written table had as Eastern in their real zones', async () => {
    const { engine } = engineWith();
    // 09:00 UTC is 03:00 Central (402 Omaha, 985 Louisiana), 02:00 Mountain (915 El Paso), 01:00 Pacific (458 Oregon),
    // and 04:00 in New York: all quiet. At 13:30 UTC it is 08:30 Eastern but still 07:30 Central / 06:30 Mountain / 05:30 Pacific.
    for (const to of ['+14025550100', '+19855550100', '+19155550100', '+14585550100']) {
      expect((await failureOf(engine.checkMessage(sms(to), { now: new Date('2026-11-24T09:00:00Z') }))).extra?.rule).toBe('quiet_hours');
      expect((await failureOf(engine.checkMessage(sms(to), { now: new Date('2026-11-24T13:30:00Z') }))).extra?.rule).toBe('quiet_hours');
    }
    await expect(engine.checkMessage(sms('+12125550100'), { now: new Date('2026-11-24T13:30:00Z') })).resolves.toMatchObject({ allowed: true });
  });

  it('follows a custom window and can be turned off', async () => {
    const early = engineWith({ TWILIO_MCP_QUIET_HOURS: '11:00-13:00' }).engine;
    expect((await failureOf(early.checkMessage(sms('+12125550100')))).message).toMatch(/quiet hours are 11:00–13:00/);
    await expect(engineWith({ TWILIO_MCP_QUIET_HOURS: 'off' }).engine.checkMessage(sms('+12125550100'), { now: NIGHT_NY })).resolves.toBeDefined();
  });

  it('knows every country libphonenumber knows (Lithuania was missing from the old table), and warns for a number with no zone', async () => {
    const { engine } = engineWith({ TWILIO_MCP_ALLOWED_COUNTRIES: '*' });
    // 03:14 UTC is 05:14 in Vilnius (winter): quiet.
    expect((await failureOf(engine.checkMessage(sms('+37061234567'), { now: NIGHT_NY }))).extra).toMatchObject({ rule: 'quiet_hours', recipient_local_time: '05:14' });
    const decision = await engine.checkMessage(sms('+882123456789'), { now: NIGHT_NY }); // an international network: no zone
    expect(decision.warnings.join(' ')).toMatch(/Quiet hours not applied: no time zone is known for this number/);
  });
});

describe('duplicate suppression', () => {
  it('refuses the same body to the same number within the window, naming the earlier SID', async () => {
    const { engine } = engineWith();
    const m = sms('+14155550101', 'Your order shipped');
    await engine.recordSent(m, 'SM0001', await engine.checkMessage(m));
    const refused = await failureOf(engine.checkMessage(m, { now: new Date(NOON_NY.getTime() + 9 * 60_000) }));
    expect(refused.message).toBe('Duplicate: the same text went to +14155550101 at 2026-11-24T17:00:00.000Z (SM0001), within the 10-minute window.');
    expect(refused.extra).toMatchObject({ rule: 'duplicate', earlier_sid: 'SM0001' });
    expect(refused.nextStep).toMatch(/allow_duplicate: true/);
  });

  it('lets it through after the window, with another body, to another number, or with allow_duplicate', async () => {
    const { engine } = engineWith();
    const m = sms('+14155550102', 'ping');
    await engine.recordSent(m, 'SM0002', await engine.checkMessage(m));
    await expect(engine.checkMessage(m, { now: new Date(NOON_NY.getTime() + 10 * 60_000 + 1) })).resolves.toBeDefined();
    await expect(engine.checkMessage(sms('+14155550102', 'pong'))).resolves.toBeDefined();
    await expect(engine.checkMessage(sms('+14155550103', 'ping'))).resolves.toBeDefined();
    const again = await engine.checkMessage({ ...m, allowDuplicate: true });
    expect(again.warnings.join(' ')).toMatch(/SM0002.*allow_duplicate: true/);
  });

  it('follows TWILIO_MCP_DUPLICATE_WINDOW_MINUTES (0 turns it off)', async () => {
    const { engine } = engineWith({ TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '0' });
    const m = sms('+14155550104', 'same');
    await engine.recordSent(m, 'SM0003', await engine.checkMessage(m));
    await expect(engine.checkMessage(m)).resolves.toBeDefined();
  });

  it('treats the same call content to the same number as a duplicate', async () => {
    const { engine } = engineWith();
    const c = call('+14155550105');
    await engine.recordCall(c, 'CA0001', await engine.checkCall(c));
    expect((await failureOf(engine.checkCall(c))).extra?.earlier_sid).toBe('CA0001');
  });
});

describe('caps (calendar windows in UTC)', () => {
  async function sendMany(engine: PolicyEngine, n: number, at: Date, to = '+14155550110') {
    for (let i = 0; i < n; i++) {
      const m = sms(to, `n${i}-${at.toISOString()}`);
      await engine.recordSent(m, `SM${i}`, await engine.checkMessage(m, { now: at }), { now: at });
    }
  }

  it('refuses at the hourly cap, says when it resets, and allows again in the next UTC hour', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' });
    await sendMany(engine, 3, new Date('2026-11-24T17:10:00Z'));
    const refused = await failureOf(engine.checkMessage(sms('+14155550110', 'more'), { now: new Date('2026-11-24T17:59:59Z') }));
    expect(refused.message).toBe('Hourly message cap reached (3/3).');
    expect(refused.nextStep).toBe('It resets at 2026-11-24T18:00:00.000Z (top of the UTC hour); an operator can raise TWILIO_MCP_MAX_MESSAGES_PER_HOUR.');
    expect(refused.extra).toMatchObject({ rule: 'caps', cap: 'messages_per_hour', used: 3, limit: 3 });
    await expect(engine.checkMessage(sms('+14155550110', 'more'), { now: new Date('2026-11-24T18:00:00Z') })).resolves.toBeDefined();
  });

  it('refuses at the daily cap until UTC midnight', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_MESSAGES_PER_DAY: '4', TWILIO_MCP_QUIET_HOURS: 'off' });
    await sendMany(engine, 2, new Date('2026-11-24T09:00:00Z'));
    await sendMany(engine, 2, new Date('2026-11-24T15:00:00Z'));
    const refused = await failureOf(engine.checkMessage(sms('+14155550110', 'more'), { now: new Date('2026-11-24T23:00:00Z') }));
    expect(refused.message).toBe('Daily message cap reached (4/4).');
    expect(refused.nextStep).toMatch(/^It resets at 2026-11-25T00:00:00.000Z \(UTC midnight\); an operator can raise TWILIO_MCP_MAX_MESSAGES_PER_DAY/);
    await expect(engine.checkMessage(sms('+14155550110', 'more'), { now: new Date('2026-11-25T00:00:00Z') })).resolves.toBeDefined();
  });

  it('warns when a cap is close', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '5' });
    await sendMany(engine, 3, NOON_NY);
    const decision = await engine.checkMessage(sms('+14155550110', 'fourth'));
    expect(decision.warnings).toContain('Hourly message cap: this is 4 of 5 (resets at 2026-11-24T18:00:00.000Z).');
  });

  it('counts calls against the daily call cap, not the message caps', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_CALLS_PER_DAY: '2', TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1' });
    for (const n of ['+14155550120', '+14155550121']) {
      const c = call(n);
      await engine.recordCall(c, `CA${n}`, await engine.checkCall(c));
    }
    const refused = await failureOf(engine.checkCall(call('+14155550122')));
    expect(refused.message).toBe('Daily call cap reached (2/2).');
    expect(refused.nextStep).toMatch(/TWILIO_MCP_MAX_CALLS_PER_DAY/);
    await expect(engine.checkMessage(sms('+14155550122'))).resolves.toBeDefined();
  });

  it('refuses when the estimated spend of messages and calls would pass the daily cap', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.1', TWILIO_MCP_ALLOWED_COUNTRIES: 'US,GB' });
    // A UK SMS is $0.0524 a segment by default: one fits, a second does not.
    const uk = sms('+447700900123', 'one', { segments: 1 });
    await engine.recordSent(uk, 'SM1', await engine.checkMessage(uk));
    const refused = await failureOf(engine.checkMessage(sms('+447700900124', 'two')));
    expect(refused.message).toBe('Daily spend cap: $0.0524 estimated spend today + $0.0524 for this message would exceed $0.1000.');
    expect(refused.extra).toMatchObject({ rule: 'caps', cap: 'spend_per_day_usd', resets_at: '2026-11-25T00:00:00.000Z' });
    // A 3-minute US call at $0.014/min still fits.
    await expect(engine.checkCall(call('+14155550130'))).resolves.toMatchObject({ estimatedMinutes: 3, estimatedCost: 0.042 });
  });

  it('estimates from the policy prices and the segment count', async () => {
    const { engine } = engineWith();
    const threeParts = await engine.checkMessage(sms('+14155550140', 'x'.repeat(307), { segments: undefined }));
    expect(threeParts.segments).toBe(3);
    expect(threeParts.estimatedCost).toBeCloseTo(3 * 0.0083, 10);
    const mms = await engine.checkMessage(sms('+14155550141', 'pic', { channel: 'mms' }));
    expect(mms).toMatchObject({ segments: 1, estimatedCost: 0.02 });
  });
});

describe('first contact', () => {
  it('allows by default', async () => {
    await expect(engineWith().engine.checkMessage(sms('+14155550150'))).resolves.toBeDefined();
  });

  it('"confirm" asks once per number; a confirmed or earlier contact goes through', async () => {
    const { engine } = engineWith({ TWILIO_MCP_FIRST_CONTACT: 'confirm' });
    const asked = await failureOf(engine.checkMessage(sms('+14155550151')));
    expect(asked).toBeInstanceOf(NeedsConfirmation);
    expect((asked as NeedsConfirmation).question).toBe('This would be the first message ever sent to +14155550151. Send it?');
    const m = sms('+14155550151', 'hi', { firstContactConfirmed: true });
    await engine.recordSent(m, 'SM1', await engine.checkMessage(m));
    await expect(engine.checkMessage(sms('+14155550151', 'again'))).resolves.toBeDefined();
    // A number messaged before may be called without asking.
    await expect(engine.checkCall(call('+14155550151'))).resolves.toBeDefined();
    await expect(engine.checkCall(call('+14155550152'))).rejects.toBeInstanceOf(NeedsConfirmation);
  });

  it('"refuse" refuses numbers never contacted', async () => {
    const refused = await failureOf(engineWith({ TWILIO_MCP_FIRST_CONTACT: 'refuse' }).engine.checkMessage(sms('+14155550153')));
    expect(refused.message).toBe('Policy refuses a first contact: this server has never messaged or called +14155550153.');
    expect(refused.extra?.rule).toBe('first_contact');
  });
});

describe('rule order', () => {
  it('deny → country → quiet hours → duplicate → caps → first contact', async () => {
    const env = { TWILIO_MCP_DENY_NUMBERS: '+44', TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1', TWILIO_MCP_FIRST_CONTACT: 'refuse' };
    const { engine } = engineWith(env);
    const rule = async (m: OutgoingMessage, now = NIGHT_NY) => (await failureOf(engine.checkMessage(m, { now }))).extra?.rule;
    expect(await rule(sms('+447700900123'))).toBe('deny_numbers');
    expect(await rule(sms('+33612345678'))).toBe('allowed_countries');
    expect(await rule(sms('+12125550100'))).toBe('quiet_hours');
    const first = sms('+14155550160', 'x', { firstContactConfirmed: true });
    await engine.recordSent(first, 'SM1', undefined, { now: NOON_NY });
    expect(await rule(first, NOON_NY)).toBe('duplicate');
    expect(await rule(sms('+14155550160', 'y'), NOON_NY)).toBe('caps');
    expect(await rule(sms('+14155550161', 'z'), new Date('2026-11-24T18:00:00Z'))).toBe('first_contact');
  });
});

describe('dry run and describe()', () => {
  it('exposes dry-run in every decision and does not record anything by itself', async () => {
    const { engine, ledger } = engineWith({ TWILIO_MCP_DRY_RUN: 'true' });
    expect(engine.dryRun).toBe(true);
    const decision = await engine.checkMessage(sms('+14155550170'));
    expect(decision).toMatchObject({ allowed: true, dryRun: true });
    expect(decision.warnings.join(' ')).toMatch(/Dry run/);
    await expect(engine.checkCall(call('+14155550170'))).resolves.toMatchObject({ dryRun: true });
    expect(ledger.records()).toHaveLength(0);
  });

  it('describes the effective policy with usage and reset times', async () => {
    const { engine } = engineWith({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '30' });
    const m = sms('+14155550171');
    await engine.recordSent(m, 'SM1', await engine.checkMessage(m));
    const description = await engine.describe();
    expect(description).toMatchObject({
      dry_run: false,
      destination_countries: "sender's country only (US); through a Messaging Service, its numbers' countries",
      caps: {
        messages_per_hour: 30,
        messages_per_day: 500,
        spend_per_day_usd: 20,
        resets_at: { hour: '2026-11-24T18:00:00.000Z', day: '2026-11-25T00:00:00.000Z' },
        used: { messages_this_hour: 1, messages_today: 1 },
      },
      duplicate_window_minutes: 10,
      first_contact: 'allow',
    });
    expect(description.quiet_hours).toMatch(/^21:00–08:00 recipient local time/);
    // No voice toolset in this version: no call cap, call usage or call price is shown.
    expect(JSON.stringify(description)).not.toMatch(/call/);
    expect(await engine.describe({ calls: true })).toMatchObject({ caps: { calls_per_day: 100, used: { calls_today: 0 } } });
    expect(JSON.stringify(description).length).toBeLessThan(2500); // one screen
  });
});
