/**
 * The official `twilio` SDK as a client of the Verify, Lookup and phone-number routes.
 * router.ts and server.ts are not wired to these routes yet, so the test serves them from a
 * tiny local HTTP server that parses requests as server.ts does (path and raw query split,
 * `+` kept in the query, form bodies only) and calls the route functions directly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, createAccount } from '../../src/sandbox/account.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { DeviceLog, deviceLogRoute } from '../../src/sandbox/device-log.js';
import { lookupRoute } from '../../src/sandbox/lookup.js';
import { phoneNumbersRoute } from '../../src/sandbox/phone-inventory.js';
import type { Reply } from '../../src/sandbox/router.js';
import { VerifyStore, verifyRoute } from '../../src/sandbox/verify.js';
import { errorBody, parseParams, parseQuery, readBody, sendJson, TwilioError } from '../../src/sandbox/wire.js';
import { sandboxTwilioClient } from './sdk-client.js';

const TOKEN = 'sdk-test-token';
let server: Server;
let baseUrl: string;
let account: Account;
let devices: DeviceLog;
let client: ReturnType<typeof sandboxTwilioClient>;
const seenPaths: string[] = [];

async function answer(method: string, path: string, search: string, raw: string, contentType: string): Promise<Reply> {
  const query = parseQuery(search);
  const form = contentType.includes('application/x-www-form-urlencoded') ? parseParams(raw) : new Map();
  const accountPath = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})(\/.*)$/.exec(path);
  const reply =
    deviceLogRoute(devices, method, path, query) ??
    verifyRoute(store, method, path, query, form) ??
    (await lookupRoute(method, path, query)) ??
    (accountPath?.[1] === account.sid ? phoneNumbersRoute(account, method, accountPath[2]!, query, form) : undefined);
  if (!reply) throw new TwilioError(404, 20404, `The requested resource ${path} was not found`);
  return reply;
}

let store: VerifyStore;

beforeAll(async () => {
  account = createAccount(SANDBOX_ACCOUNT_SID, TOKEN, TEST_SENDER);
  devices = new DeviceLog();
  store = new VerifyStore(account.sid, devices);
  server = createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const [path = '/', search = ''] = (req.url ?? '/').split('?');
      seenPaths.push(path);
      const raw = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
      let reply: Reply;
      try {
        reply = await answer(method, path, search, raw, req.headers['content-type'] ?? '');
      } catch (error) {
        if (!(error instanceof TwilioError)) throw error;
        reply = { status: error.status, body: errorBody(error.status, error.code, error.message) };
      }
      if (reply.body === undefined) res.writeHead(reply.status).end();
      else sendJson(res, reply.status, reply.body);
    })().catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = sandboxTwilioClient(baseUrl, account.sid, TOKEN);
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

const codeFromDevice = async (address: string) => {
  const response = await fetch(`${baseUrl}/__sandbox/devices/${address}?limit=1`);
  const [entry] = (await response.json()) as { body: string }[];
  return /(\d{4,10})$/.exec(entry!.body)![1]!;
};

describe('Verify with the SDK', () => {
  it('service → verification → the code from the device log → check: pending, then approved, then 404', async () => {
    const service = await client.verify.v2.services.create({ friendlyName: 'Acme', codeLength: 7 });
    expect(service).toMatchObject({ friendlyName: 'Acme', codeLength: 7 });
    expect(service.dateCreated).toBeInstanceOf(Date);
    const verification = await client.verify.v2.services(service.sid).verifications.create({ to: '+14155550123', channel: 'sms' });
    expect(verification).toMatchObject({ status: 'pending', valid: false, channel: 'sms' });
    expect(verification.sendCodeAttempts).toHaveLength(1);
    const code = await codeFromDevice('+14155550123');
    expect(code).toHaveLength(7);

    const wrong = await client.verify.v2.services(service.sid).verificationChecks.create({ to: '+14155550123', code: '0000000' === code ? '1111111' : '0000000' });
    expect(wrong).toMatchObject({ status: 'pending', valid: false });
    const right = await client.verify.v2.services(service.sid).verificationChecks.create({ to: '+14155550123', code });
    expect(right).toMatchObject({ status: 'approved', valid: true });
    const again = await client.verify.v2.services(service.sid).verificationChecks.create({ to: '+14155550123', code }).then(() => undefined, (e: unknown) => e);
    expect(again).toBeInstanceOf(twilio.RestException);
    expect(again).toMatchObject({ status: 404, code: 20404 });

    const fetched = await client.verify.v2.services(service.sid).verifications(verification.sid).fetch();
    expect(fetched.status).toBe('approved');
    const services = await client.verify.v2.services.list({ limit: 10 });
    expect(services.map((s) => s.sid)).toContain(service.sid);
    await client.verify.v2.services(service.sid).remove();
  });

  it('SDK errors carry Twilio codes: 60200 for a bad To, 60203 on the 6th send', async () => {
    const service = await client.verify.v2.services.create({ friendlyName: 'Limits' });
    const bad = await client.verify.v2.services(service.sid).verifications.create({ to: '415', channel: 'sms' }).then(() => undefined, (e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, code: 60200, message: 'Invalid parameter: To' });
    for (let i = 0; i < 5; i++) await client.verify.v2.services(service.sid).verifications.create({ to: '+14155550999', channel: 'sms' });
    const sixth = await client.verify.v2.services(service.sid).verifications.create({ to: '+14155550999', channel: 'sms' }).then(() => undefined, (e: unknown) => e);
    expect(sixth).toMatchObject({ status: 429, code: 60203 });
  });
});

describe('Lookup with the SDK', () => {
  it('fetches with Fields; the SDK puts a raw + in the path and the sandbox reads it as a plus', async () => {
    const result = await client.lookups.v2.phoneNumbers('+14155550106').fetch({ fields: 'line_type_intelligence,caller_name' });
    expect(result).toMatchObject({ valid: true, countryCode: 'US', phoneNumber: '+14155550106', nationalFormat: '(415) 555-0106' });
    expect(result.lineTypeIntelligence).toMatchObject({ type: 'landline' });
    expect(result.callerName).toMatchObject({ callerType: 'BUSINESS' });
    expect(result.smsPumpingRisk).toBeNull();
    // twilio 6.2.0 sends the number unencoded.
    expect(seenPaths).toContain('/v2/PhoneNumbers/+14155550106');
    const invalid = await client.lookups.v2.phoneNumbers('+141599299600').fetch();
    expect(invalid).toMatchObject({ valid: false, validationErrors: ['TOO_LONG'] });
  });
});

describe('phone numbers with the SDK', () => {
  it('searches, buys, updates and releases', async () => {
    const offers = await client.availablePhoneNumbers('US').local.list({ areaCode: 415, smsEnabled: true, limit: 3 });
    expect(offers).toHaveLength(3);
    expect(offers[0]).toMatchObject({ isoCountry: 'US', locality: 'San Francisco', region: 'CA' });
    expect(offers[0]!.capabilities).toMatchObject({ sms: true, voice: true });
    const countries = await client.availablePhoneNumbers.list();
    expect(countries.map((c) => c.countryCode)).toEqual(expect.arrayContaining(['US', 'CA', 'GB']));

    const bought = await client.incomingPhoneNumbers.create({ phoneNumber: offers[0]!.phoneNumber, friendlyName: 'Support' });
    expect(bought).toMatchObject({ phoneNumber: offers[0]!.phoneNumber, friendlyName: 'Support' });
    const updated = await client.incomingPhoneNumbers(bought.sid).update({ voiceUrl: 'https://example.com/voice', voiceMethod: 'GET' });
    expect(updated).toMatchObject({ voiceUrl: 'https://example.com/voice', voiceMethod: 'GET' });
    const listed = await client.incomingPhoneNumbers.list({ phoneNumber: bought.phoneNumber });
    expect(listed.map((n) => n.sid)).toEqual([bought.sid]);

    const refused = await client.incomingPhoneNumbers.create({ areaCode: '533' }).then(() => undefined, (e: unknown) => e);
    expect(refused).toMatchObject({ status: 400, code: 21452 });
    const magic = await client.incomingPhoneNumbers.create({ phoneNumber: '+15005550000' }).then(() => undefined, (e: unknown) => e);
    expect(magic).toMatchObject({ status: 400, code: 21422 });

    expect(await client.incomingPhoneNumbers(bought.sid).remove()).toBe(true);
    expect(account.numbers.map((n) => n.phoneNumber)).toEqual([TEST_SENDER]);
  });
});
