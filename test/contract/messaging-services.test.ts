/**
 * Messaging Services on the messaging host (v1 wire format: ISO dates, absolute URLs,
 * `meta` paging), read with the official SDK and validated against twilio_messaging_v1.json.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { client as rawClient } from '../sandbox/http.js';
import { createValidator, loadSpec } from './openapi.js';
import { sandboxTwilioClient } from './sdk-client.js';

const spec = loadSpec('twilio_messaging_v1.json');
const validator = createValidator(spec);
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;
let api: ReturnType<typeof rawClient>;

beforeAll(async () => {
  sandbox = await startSandbox();
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
  api = rawClient(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('GET /v1/Services/{ServiceSid}/PhoneNumbers', () => {
  it("lists the service's numbers with the SDK, country included", async () => {
    const numbers = await client.messaging.v1.services(sandbox.messagingServiceSid).phoneNumbers.list();
    expect(numbers).toHaveLength(1);
    expect(numbers[0]).toMatchObject({
      phoneNumber: sandbox.testSenderNumber, countryCode: 'US', serviceSid: sandbox.messagingServiceSid, accountSid: sandbox.accountSid,
    });
    expect(numbers[0]!.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(numbers[0]!.dateCreated.getTime())).toBe(false);
    const [incoming] = await client.incomingPhoneNumbers.list({ phoneNumber: sandbox.testSenderNumber, limit: 1 });
    expect(numbers[0]!.sid).toBe(incoming!.sid);
    const one = await client.messaging.v1.services(sandbox.messagingServiceSid).phoneNumbers(numbers[0]!.sid).fetch();
    expect(one.phoneNumber).toBe(sandbox.testSenderNumber);
  });

  it('answers the v1 wire format the spec describes, with meta paging and absolute URLs', async () => {
    const path = `/v1/Services/${sandbox.messagingServiceSid}/PhoneNumbers`;
    const { status, json } = await api.call('GET', `${path}?PageSize=1`);
    expect(status).toBe(200);
    expect(validator.response('/v1/Services/{ServiceSid}/PhoneNumbers', 'get', '200', json)).toEqual([]);
    expect(Object.keys(json).sort()).toEqual(['meta', 'phone_numbers']);
    expect(json.meta).toEqual({
      first_page_url: `https://messaging.twilio.com${path}?PageSize=1&Page=0`,
      key: 'phone_numbers',
      next_page_url: null,
      page: 0,
      page_size: 1,
      previous_page_url: null,
      url: `https://messaging.twilio.com${path}?PageSize=1&Page=0`,
    });
    const [number] = json.phone_numbers;
    expect(Object.keys(number).sort()).toEqual(Object.keys(spec.components.schemas['messaging.v1.service.phone_number'].properties).sort());
    expect(number.date_created).toMatch(ISO_SECONDS);
    expect(number.url).toBe(`https://messaging.twilio.com${path}/${number.sid}`);
    const fetched = await api.call('GET', `${path}/${number.sid}`);
    expect(validator.response('/v1/Services/{ServiceSid}/PhoneNumbers/{Sid}', 'get', '200', fetched.json)).toEqual([]);
  });
});

describe('GET /v1/Services/{Sid}', () => {
  it('fetches the service with the SDK and matches the spec', async () => {
    const service = await client.messaging.v1.services(sandbox.messagingServiceSid).fetch();
    expect(service).toMatchObject({ sid: sandbox.messagingServiceSid, accountSid: sandbox.accountSid, smartEncoding: false });
    const { json } = await api.call('GET', `/v1/Services/${sandbox.messagingServiceSid}`);
    expect(validator.response('/v1/Services/{Sid}', 'get', '200', json)).toEqual([]);
    expect(Object.keys(json).sort()).toEqual(Object.keys(spec.components.schemas['messaging.v1.service'].properties).sort());
    expect(json.links.phone_numbers).toBe(`https://messaging.twilio.com/v1/Services/${sandbox.messagingServiceSid}/PhoneNumbers`);
  });
});

describe('GET /v1/Services', () => {
  it('lists the account\'s service with the SDK, in the spec\'s shape with meta paging', async () => {
    const services = await client.messaging.v1.services.list();
    expect(services.map((s) => s.sid)).toEqual([sandbox.messagingServiceSid]);
    const { json } = await api.call('GET', '/v1/Services');
    expect(validator.response('/v1/Services', 'get', '200', json)).toEqual([]);
    expect(json.meta.key).toBe('services');
  });
});

describe('unknown service', () => {
  it('is 20404 for the list, the fetch and a number of another service', async () => {
    const other = `MG${'f'.repeat(32)}`;
    const attempts = [
      client.messaging.v1.services(other).phoneNumbers.list(),
      client.messaging.v1.services(other).fetch(),
      client.messaging.v1.services(sandbox.messagingServiceSid).phoneNumbers(`PN${'0'.repeat(32)}`).fetch(),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(twilio.RestException);
      expect(error).toMatchObject({ status: 404, code: 20404 });
    }
  });
});
