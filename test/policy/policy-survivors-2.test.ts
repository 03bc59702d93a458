/**
 * The effective policy as get_policy / twilio://policy show it (PolicyEngine.describe), which
 * the focused Stryker run of policy-engine.ts lines 546–614 left mostly unheld: each setting
 * is described in words that say what it does (a wildcard country list warns about SMS
 * pumping, the opt-out scope says who is blocked), the spend is rounded, not scaled, and the
 * call-only parts appear only once calls are possible. Then the live prices the spend cap
 * counts with (cached a day, a bad price is no price, a failure is not remembered), the price
 * overrides get_policy lists, and the shared calling-code note for a padded country code.
 */
import { describe, expect, it } from 'vitest';
import { LivePrices } from '../../src/policy/live-prices.js';
import { PolicyEngine } from '../../src/policy/policy-engine.js';
import { loadCountryNames } from '../../src/policy/country-names.js';
import { loadPolicy } from '../../src/policy/policy-schema.js';
import type { OutgoingMessage } from '../../src/policy/send-guard.js';
import { InMemorySendLedger } from '../../src/policy/send-ledger.js';

const NOON_NY = new Date('2026-11-24T17:00:00Z');
const SENDER = '+14155550000';
const engine = (env: Record<string, string> = {}, options: { sender?: string | null; live?: LivePrices } = {}) =>
  new PolicyEngine(loadPolicy({ env }), new InMemorySendLedger(), options.sender === null ? undefined : (options.sender ?? SENDER), () => NOON_NY, undefined, options.live);
const sms = (to: string, segments: number): OutgoingMessage => ({ channel: 'sms', to, from: SENDER, messagingServiceSid: undefined, body: `hello ${to}`, segments });

describe('describe(): what get_policy shows', () => {
  it('the estimated spend today is rounded to 4 decimals, not scaled', async () => {
    const e = engine();
    await e.recordSent(sms('+14155550180', 3), 'SM1', undefined, { now: NOON_NY }); // 3 × $0.0083, a float with a tail
    const description = await e.describe();
    expect(description.caps).toMatchObject({ used: { messages_today: 1, estimated_spend_today_usd: 0.0249 } });
  });

  it('names the order the rules are judged in, and the windows of the caps', async () => {
    const description = await engine().describe();
    expect(description.rule_order).toBe(
      'opt-outs → deny/allow numbers → destination country → quiet hours (judged at send_at when scheduled) → duplicate → caps → first contact; the last three are decided and the send reserved in one transaction',
    );
    expect((description.caps as Record<string, unknown>).windows).toBe('calendar windows in UTC: the hourly cap resets at the top of each UTC hour, daily caps at 00:00 UTC');
  });

  it('destination countries: a wildcard warns that SMS pumping is not blocked; a list is shown as it is; no sender says what to set', async () => {
    expect((await engine({ TWILIO_MCP_ALLOWED_COUNTRIES: '*' }).describe()).destination_countries).toBe('all (allowed_countries ["*"]) — SMS-pumping fraud is not blocked');
    expect((await engine({ TWILIO_MCP_ALLOWED_COUNTRIES: 'US,CA' }).describe()).destination_countries).toEqual(['US', 'CA']);
    expect((await engine({}, { sender: null }).describe()).destination_countries).toBe(
      "the sending number's country, or a Messaging Service's numbers' countries; none when neither is known: set TWILIO_MCP_ALLOWED_COUNTRIES",
    );
  });

  it('quiet hours off reads "off"', async () => {
    expect((await engine({ TWILIO_MCP_QUIET_HOURS: 'off' }).describe()).quiet_hours).toBe('off');
    expect((await engine({ TWILIO_MCP_QUIET_HOURS: '22:00-07:30' }).describe()).quiet_hours).toBe(
      "22:00–07:30 recipient local time (zone from the number's country, or US/CA area code); transactional: true overrides",
    );
  });

  it('prices: the table summary, and the live Pricing API only when this server has it', async () => {
    const without = (await engine({}).describe()).prices as Record<string, unknown>;
    expect(without).toMatchObject({ source: expect.stringMatching(/^rounded from Twilio public price lists/), sms_per_segment_unlisted_country: 0.12 });
    expect(without).not.toHaveProperty('live');
    const live = new LivePrices({ smsPerSegment: async () => 0.01, callPerMinute: async () => 0.02 });
    const withLive = (await engine({}, { live }).describe()).prices as Record<string, unknown>;
    expect(withLive).toMatchObject({
      sms_per_segment_unlisted_country: 0.12,
      live: "Twilio's Pricing API for this account, cached a day; the table above only when it has no price; your own prices in the policy win over both",
    });
  });

  it('says who a STOP blocks under each opt-out scope', async () => {
    expect((await engine().describe()).opt_out_scope).toBe('account: a STOP to any of your numbers or services blocks every sender until the person opts back in');
    expect((await engine({ TWILIO_MCP_OPT_OUT_SCOPE: 'sender' }).describe()).opt_out_scope).toBe('sender: a STOP blocks only the sender it was sent to (and its service)');
  });

  it('do-not-call is described only once calls are possible, and says whether an SMS STOP blocks calls', async () => {
    expect(await engine().describe()).not.toHaveProperty('do_not_call');
    expect((await engine().describe({ calls: true })).do_not_call).toBe('opt-outs with channel voice or all; an SMS STOP does not block calls (calls_honor_sms_opt_outs: false)');
    expect((await engine({ TWILIO_MCP_CALLS_HONOR_SMS_OPT_OUTS: 'true' }).describe({ calls: true })).do_not_call).toBe(
      'opt-outs with channel voice or all, and every SMS opt-out (calls_honor_sms_opt_outs)',
    );
  });
});

describe('prices in get_policy', () => {
  it('call prices only once calls are possible; overridden prices listed only when there are any', async () => {
    const plain = (await engine().describe()).prices as Record<string, unknown>;
    expect(plain).not.toHaveProperty('call_per_minute_unlisted_country');
    expect(plain).not.toHaveProperty('call_minutes_assumed');
    expect(plain.overridden).toEqual({});
    expect((await engine().describe({ calls: true })).prices).toMatchObject({ call_per_minute_unlisted_country: 0.4, call_minutes_assumed: 3, overridden: {} });

    const policy = loadPolicy({ env: {} });
    const custom = new PolicyEngine(
      { ...policy, prices: { ...policy.prices, sms_per_segment: { GB: 0.05 }, call_per_minute: { GB: 0.03 }, default_call_per_minute: 0.5 } },
      new InMemorySendLedger(),
      SENDER,
      () => NOON_NY,
    );
    expect((await custom.describe()).prices).toMatchObject({ overridden: { sms_per_segment: { GB: 0.05 } } });
    expect(((await custom.describe()).prices as Record<string, unknown>).overridden).not.toHaveProperty('call_per_minute');
    expect((await custom.describe({ calls: true })).prices).toMatchObject({
      call_per_minute_unlisted_country: 0.5,
      overridden: { sms_per_segment: { GB: 0.05 }, call_per_minute: { GB: 0.03 } },
    });
  });
});

describe('live prices (Pricing API, cached)', () => {
  const DAY = 24 * 3600 * 1000;
  const api = (prices: Record<string, unknown>) => {
    const asked: string[] = [];
    const fetcher = (kind: string) => async (country: string) => {
      asked.push(`${kind}:${country}`);
      const price = prices[`${kind}:${country}`];
      if (price instanceof Error) throw price;
      return price as number | undefined;
    };
    return { asked, fetchers: { smsPerSegment: fetcher('sms'), callPerMinute: fetcher('call') } };
  };

  it('asks once a day per country and kind; a day later it asks again', async () => {
    let now = 1_000_000;
    const { asked, fetchers } = api({ 'sms:GB': 0.04, 'call:GB': 0.02, 'sms:FR': 0.07, 'call:FR': 0.05 });
    const live = new LivePrices(fetchers, () => now);
    expect(await live.smsPerSegment('GB')).toBe(0.04);
    expect(await live.callPerMinute('GB')).toBe(0.02);
    expect(await live.smsPerSegment('FR')).toBe(0.07);
    expect(await live.callPerMinute('FR')).toBe(0.05);
    now += DAY - 1;
    expect(await live.smsPerSegment('GB')).toBe(0.04);
    expect(await live.callPerMinute('GB')).toBe(0.02);
    expect(asked).toEqual(['sms:GB', 'call:GB', 'sms:FR', 'call:FR']);
    now += 1; // exactly a day after the answer
    await live.smsPerSegment('GB');
    expect(asked).toEqual(['sms:GB', 'call:GB', 'sms:FR', 'call:FR', 'sms:GB']);
  });

  it('by default the cache lasts a day of real time', async () => {
    const { asked, fetchers } = api({ 'sms:GB': 0.04 });
    const live = new LivePrices(fetchers);
    await live.smsPerSegment('GB');
    await live.smsPerSegment('GB');
    expect(asked).toEqual(['sms:GB']);
  });

  it('a missing, negative or non-finite price is no price (the table decides); zero is a price', async () => {
    const { fetchers } = api({ 'sms:AA': undefined, 'sms:BB': -0.01, 'sms:CC': Number.NaN, 'sms:DD': Number.POSITIVE_INFINITY, 'sms:EE': 0 });
    const live = new LivePrices(fetchers, () => 0);
    for (const country of ['AA', 'BB', 'CC', 'DD']) expect(await live.smsPerSegment(country), country).toBeUndefined();
    expect(await live.smsPerSegment('EE')).toBe(0);
  });

  it('a failed read is not remembered: the next estimate asks again', async () => {
    const prices: Record<string, unknown> = { 'call:US': new Error('timeout') };
    const { asked, fetchers } = api(prices);
    const live = new LivePrices(fetchers, () => 0);
    expect(await live.callPerMinute('US')).toBeUndefined();
    prices['call:US'] = 0.013;
    expect(await live.callPerMinute('US')).toBe(0.013);
    expect(asked).toEqual(['call:US', 'call:US']);
  });
});

describe('country names', () => {
  it('the shared calling-code note reads a padded, lower-case code too', async () => {
    expect((await loadCountryNames()).callingCodeNote(' gg ')).toBe('+44 is shared by GB, GG, IM, JE');
  });
});
