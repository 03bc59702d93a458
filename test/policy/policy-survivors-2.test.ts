/**
 * The effective policy as get_policy / twilio://policy show it (PolicyEngine.describe), which
 * the focused Stryker run of policy-engine.ts lines 546–614 left mostly unheld: each setting
 * is described in words that say what it does (a wildcard country list warns about SMS
 * pumping, the opt-out scope says who is blocked), the spend is rounded, not scaled, and the
 * call-only parts appear only once calls are possible.
 */
import { describe, expect, it } from 'vitest';
import { LivePrices } from '../../src/policy/live-prices.js';
import { PolicyEngine } from '../../src/policy/policy-engine.js';
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
