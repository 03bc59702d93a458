/**
 * Every Usage Records, Balance and Pricing body the sandbox produces, over HTTP through its
 * router, validated against Twilio's OpenAPI specs (twilio_api_v2010.json,
 * twilio_pricing_v2.json, twilio_pricing_v1.json) with strict objects, plus the error bodies.
 *
 * Narrow patches, each where the spec contradicts its own examples (and the live API):
 * - A usage record's `price` is typed number, yet the examples send "2192.84855" and "0";
 *   its `price_unit` has `format: currency`, yet the examples send "usd" in lower case.
 * - Every Pricing `base_price` / `current_price` is typed number, yet the examples send
 *   "0.0085", "0.013", "0.05".
 * The test asserts each contradiction is in the spec before patching it.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { client, eventually } from '../sandbox/http.js';
import { createValidator, errorBodySchema, loadSpec } from './openapi.js';

const apiSpec = loadSpec('twilio_api_v2010.json');
const recordsExample = apiSpec.paths['/2010-04-01/Accounts/{AccountSid}/Usage/Records.json'].get.responses['200'].content['application/json'].examples.readFull.value.usage_records[0];
expect(recordsExample.price).toBe('2192.84855');
expect(recordsExample.price_unit).toBe('usd');
// Records.json and each subresource (Today, Daily, …) have a schema of their own.
const usageSchemas = Object.keys(apiSpec.components.schemas).filter((name) => name.startsWith('api.v2010.account.usage.usage_record'));
expect(usageSchemas).toHaveLength(9);
for (const name of usageSchemas) {
  const record = apiSpec.components.schemas[name].properties;
  expect(record.price.type).toBe('number');
  record.price = { type: 'string', nullable: true, pattern: '^\\d+(\\.\\d{1,5})?$' };
  expect(record.price_unit.format).toBe('currency');
  record.price_unit = { type: 'string', nullable: true, pattern: '^[a-z]{3}$' };
}
const api = createValidator(apiSpec);

/** Replaces every number-typed base_price/current_price by the string Twilio sends; returns how many. */
function stringPrices(schema: unknown): number {
  if (!schema || typeof schema !== 'object') return 0;
  let count = 0;
  for (const [key, value] of Object.entries(schema as Record<string, any>)) {
    if ((key === 'base_price' || key === 'current_price') && value?.type === 'number') {
      (schema as Record<string, unknown>)[key] = { type: 'string', nullable: true, pattern: '^\\d+\\.\\d{3,}$' };
      count++;
    } else {
      count += stringPrices(value);
    }
  }
  return count;
}
const pricingV2Spec = loadSpec('twilio_pricing_v2.json');
const pricingV1Spec = loadSpec('twilio_pricing_v1.json');
expect(pricingV2Spec.paths['/v2/Voice/Countries/{IsoCountry}'].get.responses['200'].content['application/json'].examples.fetch.value.inbound_call_prices[0].base_price).toBe('0.0085');
expect(stringPrices(pricingV2Spec.components.schemas)).toBeGreaterThan(4);
// A destination the account does not own has no inbound price: the example sends all three null, the schema types them non-null.
const inboundCallPrice = pricingV2Spec.components.schemas['pricing.v2.voice.voice_number'].properties.inbound_call_price;
expect(pricingV2Spec.paths['/v2/Voice/Numbers/{DestinationNumber}'].get.responses['200'].content['application/json'].examples.fetch.value.inbound_call_price).toEqual({ base_price: null, current_price: null, number_type: null });
expect(inboundCallPrice.properties.number_type).toEqual({ type: 'string' });
inboundCallPrice.properties.number_type = { type: 'string', nullable: true };
expect(stringPrices(pricingV1Spec.components.schemas)).toBeGreaterThan(4);
const pricingV2 = createValidator(pricingV2Spec);
const pricingV1 = createValidator(pricingV1Spec);
const validateError = new Ajv().compile(errorBodySchema);

const A = '/2010-04-01/Accounts/{AccountSid}';
let sandbox: SandboxHandle;
let http: ReturnType<typeof client>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 30, deliveredMs: 50 } });
  http = client(sandbox);
  const sent = await http.send({ From: sandbox.testSenderNumber, To: '+14155550100', Body: 'hello' });
  await eventually(async () => ((await http.call('GET', http.messagePath(sent.json.sid))).json.status === 'delivered' ? true : undefined));
  await http.call('GET', '/v2/PhoneNumbers/+14155550100?Fields=line_type_intelligence');
});
afterAll(async () => {
  await sandbox?.close();
});

async function check(validator: ReturnType<typeof createValidator>, specPath: string, path: string, status = 200): Promise<any> {
  const reply = await http.call('GET', path);
  expect(reply.status, path).toBe(status);
  if (status >= 400) {
    expect(validateError(reply.json), `${path}: ${JSON.stringify(validateError.errors)}`).toBe(true);
  } else {
    expect(validator.response(specPath, 'get', String(status), reply.json), path).toEqual([]);
  }
  return reply.json;
}

describe('Usage Records', () => {
  const SUBRESOURCES = ['', '/Today', '/Yesterday', '/ThisMonth', '/LastMonth', '/Daily', '/Monthly', '/Yearly', '/AllTime'];

  it.each(SUBRESOURCES)('Records%s.json, all categories and one, match the spec', async (sub) => {
    const specPath = `${A}/Usage/Records${sub}.json`;
    const all = await check(api, specPath, `${http.root}/Usage/Records${sub}.json`);
    expect(all.usage_records.length).toBeGreaterThan(0);
    const one = await check(api, specPath, `${http.root}/Usage/Records${sub}.json?Category=sms-outbound&StartDate=-40days`);
    expect(one.usage_records.every((r: any) => r.category === 'sms-outbound')).toBe(true);
  });

  it('a record of each billed kind carries the fields the spec lists, with the usage and prices done', async () => {
    const body = await check(api, `${A}/Usage/Records/Today.json`, `${http.root}/Usage/Records/Today.json?Category=sms-outbound`);
    const [record] = body.usage_records;
    expect(record).toMatchObject({ category: 'sms-outbound', count: '1', usage: '1', price: '0.0079', price_unit: 'usd', api_version: '2010-04-01' });
    expect(Object.keys(record.subresource_uris).sort()).toEqual(Object.keys(recordsExample.subresource_uris).sort());
    expect(record.subresource_uris.daily).toBe(`${http.root}/Usage/Records/Daily.json?Category=sms-outbound`);
    expect(record.as_of).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
  });

  it('the next page of a list matches too', async () => {
    const first = await check(api, `${A}/Usage/Records/Daily.json`, `${http.root}/Usage/Records/Daily.json?PageSize=4&StartDate=-2days`);
    expect(first.next_page_uri).toMatch(/PageToken=PA/);
    await check(api, `${A}/Usage/Records/Daily.json`, first.next_page_uri);
  });

  it('refusals are Twilio error bodies', async () => {
    await check(api, '', `${http.root}/Usage/Records.json?StartDate=yesterday`, 400);
    await check(api, '', `${http.root}/Usage/Records.json?StartDate=2026-02-01&EndDate=2026-01-01`, 400);
    await check(api, '', `${http.root}/Usage/Records.json?PageSize=0`, 400);
  });
});

describe('Balance', () => {
  it('matches the spec', async () => {
    const body = await check(api, `${A}/Balance.json`, `${http.root}/Balance.json`);
    expect(body).toEqual({ account_sid: sandbox.accountSid, balance: '19.98410', currency: 'USD' }); // 20 − 0.0079 (SMS) − 0.008 (line type intelligence)
  });
});

describe('Pricing', () => {
  const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'IN', 'BR', 'AU', 'JP'];

  it.each(COUNTRIES)('Voice v2 and Messaging v1 country %s match the specs', async (iso) => {
    const voice = await check(pricingV2, '/v2/Voice/Countries/{IsoCountry}', `/v2/Voice/Countries/${iso}`);
    expect(voice.url).toBe(`https://pricing.twilio.com/v2/Voice/Countries/${iso}`);
    const messaging = await check(pricingV1, '/v1/Messaging/Countries/{IsoCountry}', `/v1/Messaging/Countries/${iso}`);
    expect(messaging.outbound_sms_prices.length).toBeGreaterThan(0);
  });

  it('country lists and their next pages match the specs', async () => {
    for (const [validator, product] of [[pricingV2, 'v2/Voice'], [pricingV1, 'v1/Messaging']] as const) {
      const page = await check(validator, `/${product}/Countries`, `/${product}/Countries?PageSize=50`);
      expect(page.countries).toHaveLength(50);
      const next = new URL(page.meta.next_page_url);
      await check(validator, `/${product}/Countries`, `${next.pathname}${next.search}`);
    }
  });

  it('Voice v2 Numbers matches the spec, for an own number and another', async () => {
    const own = await check(pricingV2, '/v2/Voice/Numbers/{DestinationNumber}', `/v2/Voice/Numbers/${sandbox.testSenderNumber}?OriginationNumber=%2B14155550100`);
    expect(own.origination_number).toBe('+14155550100');
    const other = await check(pricingV2, '/v2/Voice/Numbers/{DestinationNumber}', '/v2/Voice/Numbers/+33612345678');
    expect(other).toMatchObject({ iso_country: 'FR', inbound_call_price: { base_price: null, current_price: null, number_type: null } });
  });

  it('an unknown country or an invalid number is a Twilio 404 body', async () => {
    await check(pricingV2, '', '/v2/Voice/Countries/ZZ', 404);
    await check(pricingV1, '', '/v1/Messaging/Countries/XX', 404);
    await check(pricingV2, '', '/v2/Voice/Numbers/+1415', 404);
  });
});
