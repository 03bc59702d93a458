/**
 * The official `twilio` SDK as a client of the sandbox's Usage Records, Balance and
 * Pricing routes: the calls a user's project (and the gateway) make, through the real
 * router, with the RequestClient that rewrites api.twilio.com and pricing.twilio.com.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { sandboxTwilioClient } from './sdk-client.js';

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 30, deliveredMs: 50 }, usage: { startingBalance: 10 } });
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
  const sent = await client.messages.create({ from: sandbox.testSenderNumber, to: '+14155550100', body: 'x'.repeat(170) });
  const deadline = Date.now() + 5000;
  while ((await client.messages(sent.sid).fetch()).status !== 'delivered') {
    if (Date.now() > deadline) throw new Error('message not delivered in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});
afterAll(async () => {
  await sandbox?.close();
});

describe('usage and balance', () => {
  it("client.usage.records.today.list({category: 'sms'}) reads today's SMS", async () => {
    const records = await client.usage.records.today.list({ category: 'sms' });
    expect(records).toHaveLength(1);
    const [sms] = records;
    const today = new Date().toISOString().slice(0, 10);
    expect(sms).toMatchObject({ category: 'sms', count: '2', countUnit: 'messages', usage: '2', price: '0.0158', priceUnit: 'usd', accountSid: sandbox.accountSid });
    expect(sms!.startDate.toISOString().slice(0, 10)).toBe(today);
    expect(sms!.endDate.toISOString().slice(0, 10)).toBe(today);
  });

  it('client.usage.records.list with dates and the other periods', async () => {
    const ranged = await client.usage.records.list({ category: 'sms-outbound', startDate: new Date(Date.now() - 86_400_000), endDate: new Date() });
    expect(ranged.map((r) => r.count)).toEqual(['2']);
    expect((await client.usage.records.yesterday.list({ category: 'sms' }))[0]!.count).toBe('0');
    expect((await client.usage.records.allTime.list({ category: 'totalprice' }))[0]!.price).toBe('0.0158');
    const daily = await client.usage.records.daily.list({ category: 'sms-outbound', startDate: new Date(Date.now() - 2 * 86_400_000) });
    expect(daily.map((r) => r.count)).toEqual(['0', '0', '2']);
    // The SDK pages on its own through next_page_uri.
    const everything = await client.usage.records.thisMonth.list({ pageSize: 5 });
    expect(new Set(everything.map((r) => r.category)).size).toBe(everything.length);
    expect(everything.length).toBeGreaterThan(5);
  });

  it('client.balance.fetch() is the starting credit minus the spend', async () => {
    const balance = await client.balance.fetch();
    expect(balance).toMatchObject({ accountSid: sandbox.accountSid, balance: '9.98420', currency: 'USD' });
  });
});

describe('pricing', () => {
  it("client.pricing.v2.voice.countries('US').fetch()", async () => {
    const us = await client.pricing.v2.voice.countries('US').fetch();
    expect(us).toMatchObject({ country: 'United States', isoCountry: 'US', priceUnit: 'USD', url: 'https://pricing.twilio.com/v2/Voice/Countries/US' });
    // The SDK turns v2 price objects into camelCase instances.
    expect(us.outboundPrefixPrices[0]).toMatchObject({ destinationPrefixes: ['1'], originationPrefixes: ['ALL'], currentPrice: '0.0140' });
    expect(us.inboundCallPrices[0]).toMatchObject({ basePrice: '0.0085', currentPrice: '0.0085', numberType: 'local' });
  });

  it("client.pricing.v1.messaging.countries('US').fetch()", async () => {
    const us = await client.pricing.v1.messaging.countries('US').fetch();
    expect(us).toMatchObject({ country: 'United States', isoCountry: 'US', priceUnit: 'USD' });
    expect(us.outboundSmsPrices.map((c: any) => c.carrier)).toEqual(['AT&T Wireless', 'T-Mobile USA', 'Verizon Wireless']);
    expect(us.outboundSmsPrices[0]?.prices).toContainEqual({ base_price: '0.0079', current_price: '0.0079', number_type: 'local' });
  });

  it('lists countries and prices a number', async () => {
    const countries = await client.pricing.v2.voice.countries.list({ limit: 60, pageSize: 50 });
    expect(countries).toHaveLength(60);
    expect(countries.map((c) => c.isoCountry)).toEqual([...countries.map((c) => c.isoCountry)].sort());
    const gb = await client.pricing.v2.voice.numbers('+442071838750').fetch();
    expect(gb).toMatchObject({ isoCountry: 'GB', destinationNumber: '+442071838750' });
    expect(gb.outboundCallPrices[0]).toMatchObject({ currentPrice: '0.1000' });
  });

  it('an unknown country is a RestException 404/20404', async () => {
    await expect(client.pricing.v1.messaging.countries('ZZ').fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });
});
