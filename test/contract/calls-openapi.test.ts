/**
 * Every kind of Calls response validated against Twilio's OpenAPI schema
 * (api.v2010.account.call, strict: an extra, missing-typed or misspelt field fails), in
 * each status a call can be in, and every error body in Twilio's shape.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { createValidator, errorBodySchema, loadSpec } from './openapi.js';

const spec = loadSpec('twilio_api_v2010.json');
const validator = createValidator(spec);
const validateError = new Ajv().compile(errorBodySchema);
const CALLS = '/2010-04-01/Accounts/{AccountSid}/Calls.json';
const CALL = '/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json';

let sandbox: SandboxHandle;
let auth: string;

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
  auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
});
afterAll(async () => {
  await sandbox?.close();
});

async function call(method: string, path: string, form?: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form ?? {})) for (const v of [value].flat()) body.append(key, v);
  const response = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers: { authorization: auth, ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
    body: form ? body.toString() : undefined,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const callsPath = () => `/2010-04-01/Accounts/${sandbox.accountSid}/Calls.json`;
const callPath = (sid: string) => `/2010-04-01/Accounts/${sandbox.accountSid}/Calls/${sid}.json`;
const create = (form: Record<string, string | string[]>) => call('POST', callsPath(), { From: '+15005550006', ...form });

describe('Calls responses match the OpenAPI schema', () => {
  it('create → 201 api.v2010.account.call, queued, with nulls (never "") where nothing is known yet', async () => {
    const { status, json } = await create({ To: '+14155550400', Twiml: '<Response><Say>hi</Say></Response>' });
    expect(status).toBe(201);
    expect(validator.response(CALLS, 'post', '201', json)).toEqual([]);
    expect(json).toMatchObject({ status: 'queued', duration: null, price: null, end_time: null, answered_by: null, parent_call_sid: null, price_unit: 'USD' });
    expect(Object.values(json).filter((v) => v === '')).toEqual([]);
    // Every property of the schema is present.
    const properties = Object.keys(spec.components.schemas['api.v2010.account.call'].properties).sort();
    expect(Object.keys(json).sort()).toEqual(properties);
  });

  it('fetch in progress, completed (duration, price, times), with machine detection, busy, no-answer, canceled', async () => {
    const live = await create({ To: '+14155550401', Twiml: '<Response><Pause length="600"/></Response>', MachineDetection: 'Enable' });
    const inProgress = await (async () => {
      for (let i = 0; i < 200; i++) {
        const { json } = await call('GET', callPath(live.json.sid));
        if (json.status === 'in-progress') return json;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('never in progress');
    })();
    expect(inProgress.answered_by).toBe('human');
    expect(validator.response(CALL, 'get', '200', inProgress)).toEqual([]);
    const hungUp = await call('POST', callPath(live.json.sid), { Status: 'completed' });
    expect(validator.response(CALL, 'post', '200', hungUp.json)).toEqual([]);
    expect(hungUp.json.status).toBe('completed');

    for (const to of ['+14155550402', '+14155554001', '+14155554002', '+14155554003']) {
      const created = await create({ To: to, Twiml: '<Response><Say>hello there</Say></Response>', Timeout: '5' });
      await sandbox.waitForCall(created.json.sid);
      const { json } = await call('GET', callPath(created.json.sid));
      expect(validator.response(CALL, 'get', '200', json)).toEqual([]);
    }
    const ringing = await create({ To: '+14155554002', Twiml: '<Response/>', Timeout: '600' });
    const canceled = await call('POST', callPath(ringing.json.sid), { Status: 'canceled' });
    expect(canceled.json.status).toBe('canceled');
    expect(validator.response(CALL, 'post', '200', canceled.json)).toEqual([]);
  });

  it('an inbound call and a <Dial> leg', async () => {
    sandbox.configureNumber({ voiceUrl: null });
    const { callSid } = await sandbox.simulateInboundCall({ from: '+14155550403' });
    expect(validator.response(CALL, 'get', '200', await sandbox.waitForCall(callSid))).toEqual([]);
    const dialing = await create({ To: '+14155550404', Twiml: '<Response><Dial>+14155550405</Dial></Response>' });
    await sandbox.waitForCall(dialing.json.sid);
    const legs = await call('GET', `${callsPath()}?ParentCallSid=${dialing.json.sid}`);
    expect(legs.json.calls).toHaveLength(1);
    expect(validator.response(CALLS, 'get', '200', legs.json)).toEqual([]);
  });

  it('list → ListCallResponse, paged', async () => {
    const { status, json } = await call('GET', `${callsPath()}?PageSize=2`);
    expect(status).toBe(200);
    expect(validator.response(CALLS, 'get', '200', json)).toEqual([]);
    expect(json.calls).toHaveLength(2);
    const next = await call('GET', json.next_page_uri);
    expect(validator.response(CALLS, 'get', '200', next.json)).toEqual([]);
  });

  it('error bodies: validation, magic numbers, 21220, 20009, 404', async () => {
    const finished = await create({ To: '+14155550406', Twiml: '<Response/>' });
    await sandbox.waitForCall(finished.json.sid);
    const live = await create({ To: '+14155550407', Twiml: '<Response><Pause length="600"/></Response>' });
    const errors = [
      await create({ Twiml: '<Response/>' }),
      await create({ To: '+14155550400' }),
      await create({ To: '+15005550002', Twiml: '<Response/>' }),
      await create({ To: '+14155550400', From: '+14155550999', Twiml: '<Response/>' }),
      await call('POST', callPath(finished.json.sid), { Status: 'completed' }),
      await call('DELETE', callPath(live.json.sid)),
      await call('GET', callPath(`CA${'0'.repeat(32)}`)),
    ];
    expect(errors.map((e) => [e.status, e.json.code])).toEqual([
      [400, 21201],
      [400, 21205],
      [400, 21214],
      [400, 21210],
      [400, 21220],
      [400, 20009],
      [404, 20404],
    ]);
    for (const e of errors) expect(validateError(e.json)).toBe(true);
    await call('POST', callPath(live.json.sid), { Status: 'completed' });
  });
});
