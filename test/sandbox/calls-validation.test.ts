/**
 * CreateCall refusals: Twilio's codes in Twilio's order, the call magic numbers, and the
 * count that matters: a refused create leaves no call behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { client, type Form } from './http.js';

let sandbox: SandboxHandle;
let guarded: SandboxHandle;
let api: ReturnType<typeof client>;

const OK = { To: '+14155550100', From: '+15005550006', Twiml: '<Response><Say>hi</Say></Response>' };

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
  guarded = await startSandbox({ voiceTiming: { msPerSecond: 1 }, callbackPolicy: { isOwnReceiver: (url) => url.port === '9' } });
  api = client(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
  await guarded?.close();
});

const create = (form: Form, on = api) => on.call('POST', `${on.root}/Calls.json`, form);

describe('CreateCall validation', () => {
  const cases: Array<[string, Form, number]> = [
    ['To missing (before From)', { Twiml: OK.Twiml }, 21201],
    ['From missing', { To: OK.To, Twiml: OK.Twiml }, 21213],
    ['neither Url, Twiml nor ApplicationSid', { To: OK.To, From: OK.From }, 21205],
    ['Url not absolute http(s)', { To: OK.To, From: OK.From, Url: 'ftp://example.com/x' }, 21205],
    ['Url relative', { To: OK.To, From: OK.From, Url: '/twiml' }, 21205],
    ['Method not GET/POST', { ...OK, Method: 'PUT' }, 21209],
    ['Twiml over 4000 characters', { ...OK, Twiml: `<Response><Say>${'a'.repeat(4000)}</Say></Response>` }, 32018],
    ['ApplicationSid (no Applications in the sandbox)', { To: OK.To, From: OK.From, ApplicationSid: `AP${'0'.repeat(32)}` }, 21218],
    ['Timeout not a positive integer', { ...OK, Timeout: '0' }, 21208],
    ['Timeout not a number', { ...OK, Timeout: 'soon' }, 21208],
    ['MachineDetection unknown', { ...OK, MachineDetection: 'Maybe' }, 20001],
    ['StatusCallbackEvent unknown', { ...OK, StatusCallback: 'https://example.com/s', StatusCallbackEvent: ['ringing', 'hungup'] }, 20001],
    ['StatusCallbackMethod unknown', { ...OK, StatusCallbackMethod: 'PATCH' }, 21209],
    ['StatusCallback not http(s)', { ...OK, StatusCallback: 'mailto:x@example.com' }, 21609],
    ['RecordingStatusCallback not http(s)', { ...OK, RecordingStatusCallback: 'file:///etc/passwd' }, 21609],
    ['To not a number', { ...OK, To: '415-555-0100' }, 21211],
    ['magic From +15005550001', { ...OK, From: '+15005550001' }, 21212],
    ['magic To +15005550001', { ...OK, To: '+15005550001' }, 21217],
    ['magic To +15005550002', { ...OK, To: '+15005550002' }, 21214],
    ['magic To +15005550003', { ...OK, To: '+15005550003' }, 21215],
    ['magic To +15005550004', { ...OK, To: '+15005550004' }, 21216],
    ['From not E.164', { ...OK, From: 'MyCompany' }, 21212],
    ['From not one of the account numbers', { ...OK, From: '+14155550199' }, 21210],
  ];

  it.each(cases)('%s → %i, and nothing is created', async (_name, form, code) => {
    const before = (await api.call('GET', `${api.root}/Calls.json?PageSize=1000`)).json.calls.length;
    const { status, json } = await create(form);
    expect(status).toBe(400);
    expect(json).toMatchObject({ code, status: 400, more_info: `https://www.twilio.com/docs/errors/${code}` });
    const after = (await api.call('GET', `${api.root}/Calls.json?PageSize=1000`)).json.calls.length;
    expect(after).toBe(before);
  });

  it('no refused create left any call at all', async () => {
    const fresh = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
    const freshApi = client(fresh);
    for (const [, form] of cases) expect((await create(form, freshApi)).status).toBe(400);
    expect((await freshApi.call('GET', `${freshApi.root}/Calls.json`)).json.calls).toEqual([]);
    await fresh.close();
  });

  it('magic numbers come after the To shape and before the From ownership, From first', async () => {
    expect((await create({ ...OK, From: '+15005550001', To: '+15005550002' })).json.code).toBe(21212);
    expect((await create({ ...OK, From: '+14155550199', To: '+15005550003' })).json.code).toBe(21215);
    expect((await create({ ...OK, From: '+15005550001', To: 'nope' })).json.code).toBe(21211);
  });

  it('Timeout over 600 is cut to Twilio maximum, not refused; Twiml of exactly 4000 characters passes', async () => {
    expect((await create({ ...OK, Timeout: '601' })).status).toBe(201);
    const body = `<Response><Say>${'a'.repeat(4000 - '<Response><Say></Say></Response>'.length)}</Say></Response>`;
    expect(body.length).toBe(4000);
    expect((await create({ ...OK, Twiml: body })).status).toBe(201);
  });

  it('a StatusCallback or Url on loopback is refused under a callback policy, unless it is the own receiver', async () => {
    const gApi = client(guarded);
    const callback = await create({ ...OK, StatusCallback: 'http://127.0.0.1:8080/status' }, gApi);
    expect(callback.json.code).toBe(21609);
    expect(callback.json.message).toMatch(/loopback/);
    const url = await create({ To: OK.To, From: OK.From, Url: 'http://localhost:8080/twiml' }, gApi);
    expect(url.json.code).toBe(21205);
    expect(url.json.message).toMatch(/loopback/);
    expect((await gApi.call('GET', `${gApi.root}/Calls.json`)).json.calls).toEqual([]);
    expect((await create({ ...OK, StatusCallback: 'http://127.0.0.1:9/status' }, gApi)).status).toBe(201);
  });

  it('client: and sip: callees are accepted', async () => {
    expect((await create({ ...OK, To: 'client:alice' })).status).toBe(201);
    expect((await create({ ...OK, To: 'sip:bob@example.com' })).status).toBe(201);
  });
});
