/**
 * Usage Records and Balance computed from what the sandbox did: messages, calls,
 * recordings, verifications and lookups go through the REST API, then every category's
 * count, usage and price must be exactly what was done, and equal the sum of the prices
 * the resources themselves carry. The ledger's clock moves a day to see Today become
 * Yesterday. The Pricing API quotes the prices that were billed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { client, eventually } from './http.js';

const DAY = 86_400_000;
let clockOffsetMs = 0;
let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;
const SENDER = '+15005550006';
const FINAL = new Set(['delivered', 'undelivered', 'failed']);

const records = async (sub: string, query = '') => {
  const reply = await api.call('GET', `${api.root}/Usage/Records${sub}.json?PageSize=1000${query}`);
  expect(reply.status).toBe(200);
  return reply.json.usage_records as Array<Record<string, any>>;
};
const byCategory = (list: Array<Record<string, any>>) => Object.fromEntries(list.map((r) => [r.category, r]));
const units = (price: string | null) => (price === null ? 0 : Math.round(Math.abs(Number(price)) * 100_000));

async function sendAndSettle(form: Record<string, string | string[]>) {
  const created = await api.send({ From: SENDER, ...form });
  expect(created.status).toBe(201);
  return eventually(async () => {
    const m = (await api.call('GET', api.messagePath(created.json.sid))).json;
    return FINAL.has(m.status) ? m : undefined;
  });
}

async function callAndSettle(form: Record<string, string>) {
  const created = await api.call('POST', `${api.root}/Calls.json`, { From: SENDER, ...form });
  expect(created.status).toBe(201);
  return sandbox.waitForCall(created.json.sid);
}

beforeAll(async () => {
  sandbox = await startSandbox({
    // Distinct steps: with equal ones (deliveredMs alone) the message timers can fire out of order and leave a message 'sending'.
    timing: { sendingMs: 10, sentMs: 30, deliveredMs: 50 },
    voiceTiming: { msPerSecond: 2, recordingReadyMs: 10, transcriptionReadyMs: 10 },
    usage: { now: () => new Date(Date.now() + clockOffsetMs), startingBalance: 15.5 },
  });
  api = client(sandbox);

  // Messaging: 1 + 2 SMS segments (US, GB), an MMS, a WhatsApp template, one that fails, one inbound.
  const sms = await sendAndSettle({ To: '+14155550100', Body: 'hello' });
  await sendAndSettle({ To: '+447911123456', Body: 'x'.repeat(200) });
  await sendAndSettle({ To: '+14155550101', Body: 'pic', MediaUrl: 'https://example.com/a.jpg' });
  await sendAndSettle({ From: `whatsapp:${SENDER}`, To: 'whatsapp:+14155550102', ContentSid: `HX${'d'.repeat(32)}` });
  expect((await sendAndSettle({ To: '+14155553008', Body: 'never leaves' })).status).toBe('failed');
  await sandbox.simulateInbound({ from: '+14155550199', body: 'a reply' });
  // Twilio bills what it sent, even once the message is deleted.
  expect((await api.call('DELETE', api.messagePath(sms.sid))).status).toBe(204);

  // Voice: an answered call, a busy one (unbilled), a recorded call, an inbound call.
  await callAndSettle({ To: '+14155550100', Twiml: '<Response><Say>hello there</Say></Response>' });
  expect((await callAndSettle({ To: '+14155554001', Twiml: '<Response><Say>x</Say></Response>' })).status).toBe('busy');
  const recorded = await callAndSettle({ To: '+14155550110', Record: 'true', Twiml: '<Response><Pause length="70"/></Response>' });
  expect(Number(recorded.duration)).toBeGreaterThan(60);
  await eventually(async () => {
    const list = (await api.call('GET', `${api.root}/Calls/${recorded.sid}/Recordings.json`)).json.recordings;
    return list.length === 1 && list[0].status === 'completed' ? true : undefined;
  });
  const inbound = await sandbox.simulateInboundCall({ from: '+14155550120' });
  await sandbox.waitForCall(inbound.callSid);

  // Verify: one approved (billed), one still pending (not billed).
  const service = (await api.call('POST', '/v2/Services', { FriendlyName: 'Acme' })).json.sid;
  await api.call('POST', `/v2/Services/${service}/Verifications`, { To: '+14155550123', Channel: 'sms' });
  const check = await api.call('POST', `/v2/Services/${service}/VerificationCheck`, { To: '+14155550123', Code: sandbox.verifyCodeOf(service, '+14155550123')! });
  expect(check.json.status).toBe('approved');
  await api.call('POST', `/v2/Services/${service}/Verifications`, { To: 'someone@example.com', Channel: 'email' });

  // Lookups: two paid packages; a basic one; caller_name outside +1 (error 60600, unbilled); an invalid number (nothing).
  expect((await api.call('GET', '/v2/PhoneNumbers/+14155550100?Fields=line_type_intelligence,caller_name')).status).toBe(200);
  await api.call('GET', '/v2/PhoneNumbers/+447911123456');
  expect((await api.call('GET', '/v2/PhoneNumbers/+447911123456?Fields=caller_name')).json.caller_name.error_code).toBe(60600);
  expect((await api.call('GET', '/v2/PhoneNumbers/+1415?Fields=caller_name')).json.valid).toBe(false);
});

afterAll(async () => {
  await sandbox?.close();
});

describe('Usage Records per category', () => {
  it('counts, usage and prices are exactly what was done today', async () => {
    clockOffsetMs = 0;
    const today = byCategory(await records('/Today'));
    const pick = (c: string) => [today[c]!.count, today[c]!.usage, today[c]!.price];
    expect(pick('sms-outbound')).toEqual(['3', '3', '0.1129']); // 0.0079 + 2 × 0.0525
    expect(pick('sms-inbound')).toEqual(['1', '1', '0']);
    expect(pick('sms')).toEqual(['4', '4', '0.1129']);
    expect(pick('mms-outbound')).toEqual(['1', '1', '0.02']);
    expect(pick('mms')).toEqual(['1', '1', '0.02']);
    expect(pick('channels-whatsapp-outbound')).toEqual(['1', '1', '0.005']);
    expect(pick('channels-whatsapp')).toEqual(['1', '1', '0.005']);
    expect(pick('calls-outbound')).toEqual(['2', '3', '0.042']); // 1 min + 2 min at 0.014
    expect(pick('calls-inbound')).toEqual(['1', '1', '0.0085']);
    expect(pick('calls')).toEqual(['3', '4', '0.0505']);
    expect(pick('recordings')).toEqual(['1', '2', '0.005']);
    expect(pick('verify-voice-sms')).toEqual(['1', '1', '0.05']);
    expect(pick('verify-outbound-email')).toEqual(['0', '0', '0']);
    expect(pick('enhanced-line-type-lookups')).toEqual(['1', '1', '0.008']);
    expect(pick('calleridlookups')).toEqual(['1', '1', '0.01']);
    expect(pick('number-format-lookups')).toEqual(['2', '2', '0']);
    expect(pick('lookups')).toEqual(['4', '4', '0.018']);
    expect(today.totalprice).toMatchObject({ count: null, count_unit: '', usage: '0.2614', usage_unit: 'usd', price: '0.2614' });
    expect(today['sms-outbound']).toMatchObject({ count_unit: 'messages', usage_unit: 'messages', price_unit: 'usd', description: 'Outbound SMS' });
    expect(today['calls']).toMatchObject({ count_unit: 'calls', usage_unit: 'minutes' });
  });

  it('the totals equal the sum of the prices the resources carry (calls, live messages, recordings)', async () => {
    const today = byCategory(await records('/Today'));
    const calls = (await api.call('GET', `${api.root}/Calls.json?PageSize=1000`)).json.calls;
    expect(calls.reduce((s: number, c: any) => s + units(c.price), 0)).toBe(units(today.calls!.price));
    const messages = (await api.call('GET', `${api.root}/Messages.json?PageSize=1000`)).json.messages;
    // The deleted US SMS (0.0079) is billed but no longer listed.
    const smsLive = messages.filter((m: any) => m.sid.startsWith('SM') && !m.to.startsWith('whatsapp:')).reduce((s: number, m: any) => s + units(m.price), 0);
    expect(smsLive + units('-0.00790')).toBe(units(today.sms!.price));
    const recs = (await api.call('GET', `${api.root}/Recordings.json`)).json.recordings;
    expect(recs.reduce((s: number, r: any) => s + units(r.price), 0)).toBe(units(today.recordings!.price));
  });

  it('Records.json with Category filters, one record per category; an unknown category is an empty page', async () => {
    const [sms] = await records('', '&Category=sms-outbound');
    expect(sms).toMatchObject({ category: 'sms-outbound', count: '3', price: '0.1129' });
    expect(await records('', '&Category=wireless-usage')).toEqual([]);
    const all = await records('');
    expect(new Set(all.map((r) => r.category)).size).toBe(all.length);
    expect(all.map((r) => r.category)).toEqual([...all.map((r) => r.category)].sort());
  });

  it('dates: StartDate/EndDate as days or -Ndays; a bad date is 400/20001', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + DAY).toISOString().slice(0, 10);
    const [withDays] = await records('', `&Category=calls&StartDate=${day}&EndDate=${day}`);
    expect(withDays).toMatchObject({ start_date: day, end_date: day, count: '3' });
    expect(withDays!.uri).toBe(`${api.root}/Usage/Records.json?Category=calls&StartDate=${day}&EndDate=${day}`);
    const [relative] = await records('', '&Category=calls&StartDate=-30days&EndDate=%2B0days');
    expect(relative).toMatchObject({ end_date: day, count: '3' });
    const [later] = await records('', `&Category=calls&StartDate=${tomorrow}&EndDate=${tomorrow}`);
    expect(later!.count).toBe('0');
    const bad = await api.call('GET', `${api.root}/Usage/Records.json?StartDate=2026-02-30`);
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe(20001);
  });

  it('paging walks every record once', async () => {
    const seen: string[] = [];
    let next: string | null = `${api.root}/Usage/Records/Today.json?PageSize=7`;
    for (let guard = 0; next && guard < 20; guard++) {
      const page: any = (await api.call('GET', next)).json;
      seen.push(...page.usage_records.map((r: any) => r.category));
      next = page.next_page_uri;
    }
    expect(seen).toEqual((await records('/Today')).map((r) => r.category));
  });
});

describe('periods by the ledger clock', () => {
  it('a day later, today is empty and yesterday holds it all; Daily has one record per category per day', async () => {
    clockOffsetMs = DAY;
    try {
      const today = byCategory(await records('/Today'));
      const yesterday = byCategory(await records('/Yesterday'));
      expect(today.totalprice!.price).toBe('0');
      expect(today['sms-outbound']!.count).toBe('0');
      expect(yesterday.totalprice!.price).toBe('0.2614');
      expect(yesterday['calls-inbound']!.count).toBe('1');
      const daily = await records('/Daily', '&Category=sms-outbound');
      expect(daily.map((r) => [r.start_date, r.end_date, r.count])).toEqual([
        [yesterday.totalprice!.start_date, yesterday.totalprice!.start_date, '3'],
        [today.totalprice!.start_date, today.totalprice!.start_date, '0'],
      ]);
      const [allTime] = await records('/AllTime', '&Category=totalprice');
      expect(allTime).toMatchObject({ price: '0.2614', start_date: yesterday.totalprice!.start_date, end_date: today.totalprice!.start_date });
      const monthly = await records('/Monthly', '&Category=calls');
      expect(monthly.reduce((s, r) => s + Number(r.count), 0)).toBe(3);
      expect(monthly[0]!.start_date.endsWith('-01')).toBe(true);
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('Balance', () => {
  it('is the starting credit minus what was billed', async () => {
    const balance = await api.call('GET', `${api.root}/Balance.json`);
    expect(balance.json).toEqual({ account_sid: sandbox.accountSid, balance: '15.23860', currency: 'USD' }); // 15.50 − 0.2614
  });

  it('decreases by exactly the price of one more message', async () => {
    const before = units((await api.call('GET', `${api.root}/Balance.json`)).json.balance);
    const sent = await sendAndSettle({ To: '+4915112345678', Body: 'hallo' });
    const after = units((await api.call('GET', `${api.root}/Balance.json`)).json.balance);
    expect(sent.price).toBe('-0.05250');
    expect(before - after).toBe(units(sent.price));
  });
});

describe('Pricing API quotes what was billed', () => {
  it('SMS per segment and outbound minutes per country match the resources', async () => {
    const us = (await api.call('GET', '/v1/Messaging/Countries/US')).json;
    expect(us.outbound_sms_prices[0].prices[0]).toEqual({ base_price: '0.0079', current_price: '0.0079', number_type: 'local' });
    const gb = (await api.call('GET', '/v1/Messaging/Countries/GB')).json;
    expect(gb.outbound_sms_prices.map((c: any) => c.prices[0].current_price)).toEqual(['0.0525', '0.0525', '0.0525', '0.0525']);
    const voiceUs = (await api.call('GET', '/v2/Voice/Countries/US')).json;
    expect(voiceUs.outbound_prefix_prices[0]).toMatchObject({ destination_prefixes: ['1'], current_price: '0.0140' });
    expect(voiceUs.inbound_call_prices[0]).toMatchObject({ number_type: 'local', current_price: '0.0085' });
    const voiceIn = (await api.call('GET', '/v2/Voice/Countries/in')).json;
    expect(voiceIn).toMatchObject({ iso_country: 'IN', country: 'India', outbound_prefix_prices: [{ destination_prefixes: ['91'], current_price: '0.1000' }] });
    const number = (await api.call('GET', `/v2/Voice/Numbers/${SENDER}`)).json;
    expect(number).toMatchObject({ destination_number: SENDER, iso_country: 'US', outbound_call_prices: [{ current_price: '0.0140' }], inbound_call_price: { current_price: '0.0085' } });
  });

  it('lists countries with meta paging; an unknown country is 404/20404', async () => {
    const page = (await api.call('GET', '/v2/Voice/Countries?PageSize=3')).json;
    expect(page.countries.map((c: any) => c.iso_country)).toEqual(['AC', 'AD', 'AE']);
    expect(page.meta).toMatchObject({ key: 'countries', page_size: 3, next_page_url: expect.stringMatching(/^https:\/\/pricing\.twilio\.com\/v2\/Voice\/Countries\?PageSize=3&Page=1&PageToken=PA/) });
    const missing = await api.call('GET', '/v1/Messaging/Countries/ZZ');
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe(20404);
  });
});
