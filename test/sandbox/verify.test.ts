/**
 * Verify v2 end to end against the store and its routes: the code is read where a person
 * would read it (the device log), checks, limits (5 wrong checks, 5 sends), expiry by
 * moving the clock, and the device log's own route.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DeviceLog, deviceLogRoute } from '../../src/sandbox/device-log.js';
import type { Reply } from '../../src/sandbox/router.js';
import { VerifyStore, verifyRoute } from '../../src/sandbox/verify.js';
import { errorBody, parseParams, parseQuery, TwilioError } from '../../src/sandbox/wire.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const TO = '+14155550123';

let clock: Date;
let devices: DeviceLog;
let store: VerifyStore;

function call(method: string, path: string, form: Record<string, string> = {}, query = ''): Reply & { body: any } {
  try {
    const reply = verifyRoute(store, method, path, parseQuery(query), parseParams(new URLSearchParams(form).toString()));
    if (!reply) throw new Error(`not routed: ${method} ${path}`);
    return reply as Reply & { body: any };
  } catch (error) {
    if (error instanceof TwilioError) return { status: error.status, body: errorBody(error.status, error.code, error.message) };
    throw error;
  }
}

const advance = (ms: number) => (clock = new Date(clock.getTime() + ms));
const lastCode = (address: string) => /(\d[\d, ]*\d)/.exec(devices.read(address, 1)[0]!.body.replace(/^.*?: /, ''))![1]!.replace(/\D/g, '');

function newService(form: Record<string, string> = {}): string {
  const { status, body } = call('POST', '/v2/Services', { FriendlyName: 'Acme', ...form });
  expect(status).toBe(201);
  return body.sid;
}

beforeEach(() => {
  clock = new Date('2026-01-05T10:00:00Z');
  devices = new DeviceLog();
  store = new VerifyStore(ACCOUNT, devices, { now: () => clock });
});

describe('services', () => {
  it('creates with CodeLength default 6, fetches, updates, lists with meta paging, deletes', () => {
    const created = call('POST', '/v2/Services', { FriendlyName: 'Acme' });
    expect(created.body).toMatchObject({ friendly_name: 'Acme', code_length: 6, account_sid: ACCOUNT, date_created: '2026-01-05T10:00:00Z' });
    expect(created.body.url).toBe(`https://verify.twilio.com/v2/Services/${created.body.sid}`);
    const sid = created.body.sid;
    expect(call('POST', `/v2/Services/${sid}`, { CodeLength: '8', FriendlyName: 'Acme 2' }).body).toMatchObject({ code_length: 8, friendly_name: 'Acme 2' });
    expect(call('GET', `/v2/Services/${sid}`).body.code_length).toBe(8);
    newService();
    const page = call('GET', '/v2/Services', {}, 'PageSize=1');
    expect(page.body.services).toHaveLength(1);
    expect(page.body.meta).toMatchObject({ key: 'services', page_size: 1, next_page_url: expect.stringContaining('https://verify.twilio.com/v2/Services?PageSize=1&Page=1&PageToken=PA') });
    expect(call('DELETE', `/v2/Services/${sid}`).status).toBe(204);
    expect(call('GET', `/v2/Services/${sid}`).body).toMatchObject({ status: 404, code: 20404, message: `The requested resource /Services/${sid} was not found` });
  });

  it('refuses a missing FriendlyName (20001), one over 30 characters and CodeLength outside 4-10 (60200)', () => {
    expect(call('POST', '/v2/Services', {}).body).toMatchObject({ status: 400, code: 20001 });
    expect(call('POST', '/v2/Services', { FriendlyName: 'x'.repeat(31) }).body).toMatchObject({ code: 60200, message: 'Invalid parameter: FriendlyName' });
    for (const bad of ['3', '11', 'six']) {
      expect(call('POST', '/v2/Services', { FriendlyName: 'A', CodeLength: bad }).body).toMatchObject({ code: 60200, message: 'Invalid parameter: CodeLength' });
    }
    expect(call('POST', '/v2/Services', { FriendlyName: 'A', CodeLength: '4' }).body.code_length).toBe(4);
    expect(store.listServices()).toHaveLength(1);
  });
});

describe('verifications', () => {
  it('SMS: start, read the code from the device log, wrong code → pending, right → approved, again → 20404', () => {
    const va = newService();
    const started = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: 'pending', valid: false, channel: 'sms', to: TO, lookup: {}, amount: null, payee: null, sna: null });
    expect(started.body.send_code_attempts).toEqual([{ time: '2026-01-05T10:00:00Z', channel: 'SMS', attempt_sid: expect.stringMatching(/^VL[0-9a-f]{32}$/) }]);
    const [sms] = devices.read(TO);
    expect(sms).toMatchObject({ kind: 'sms', from: 'Acme', body: expect.stringMatching(/^Your Acme verification code is: \d{6}$/) });
    const code = lastCode(TO);

    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: wrongCode });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ status: 'pending', valid: false, sid: started.body.sid, sna_attempts_error_codes: [] });

    const right = call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: code });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ status: 'approved', valid: true });

    const again = call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: code });
    expect(again.body).toEqual(errorBody(404, 20404, `The requested resource /Services/${va}/VerificationCheck was not found`));
    // The approved one is still there to fetch until it expires.
    expect(call('GET', `/v2/Services/${va}/Verifications/${started.body.sid}`).body.status).toBe('approved');
  });

  it('delivers by channel: whatsapp message, call with the digits spoken, email with a subject; CodeLength honoured', () => {
    const va = newService({ CodeLength: '4', FriendlyName: 'Shop' });
    call('POST', `/v2/Services/${va}/Verifications`, { To: '+447700900123', Channel: 'whatsapp' });
    expect(devices.read('whatsapp:+447700900123')[0]).toMatchObject({ kind: 'whatsapp', body: expect.stringMatching(/^Your Shop verification code is: \d{4}$/) });

    call('POST', `/v2/Services/${va}/Verifications`, { To: '+14155550777', Channel: 'call' });
    const spoken = devices.read('+14155550777')[0]!;
    expect(spoken.kind).toBe('call');
    expect(spoken.body).toMatch(/^Your Shop verification code is: \d, \d, \d, \d\. Once again/);
    const code = spoken.body.split(': ')[1]!.split('.')[0]!.replace(/\D/g, '');
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { To: '+14155550777', Code: code }).body.status).toBe('approved');

    const email = call('POST', `/v2/Services/${va}/Verifications`, { To: 'Ann@Example.com', Channel: 'email' });
    expect(email.body.to).toBe('ann@example.com');
    expect(email.body.send_code_attempts[0].channel).toBe('EMAIL');
    expect(devices.read('ann@example.com')[0]).toMatchObject({ kind: 'email', subject: 'Your Shop verification code', body: expect.stringMatching(/code is: \d{4}\.$/) });
    const mailed = lastCode('ann@example.com');
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { To: 'ann@example.com', Code: mailed }).body.valid).toBe(true);
  });

  it('refuses a bad channel, a To that is not E.164 (or not an email for email) with 60200; missing To/Channel with 20001', () => {
    const va = newService();
    const start = (form: Record<string, string>) => call('POST', `/v2/Services/${va}/Verifications`, form).body;
    expect(start({ To: TO, Channel: 'pigeon' })).toEqual(errorBody(400, 60200, 'Invalid parameter: Channel'));
    expect(start({ To: '4155550123', Channel: 'sms' })).toEqual(errorBody(400, 60200, 'Invalid parameter: To'));
    expect(start({ To: '+1 415 555 0123', Channel: 'call' })).toMatchObject({ code: 60200, message: 'Invalid parameter: To' });
    expect(start({ To: TO, Channel: 'email' })).toMatchObject({ code: 60200, message: 'Invalid parameter: To' });
    expect(start({ To: 'ann@example.com', Channel: 'whatsapp' })).toMatchObject({ code: 60200, message: 'Invalid parameter: To' });
    expect(start({ Channel: 'sms' })).toMatchObject({ code: 20001, message: 'Missing required parameter To in the post body' });
    expect(start({ To: TO })).toMatchObject({ code: 20001, message: 'Missing required parameter Channel in the post body' });
    expect(devices.read(TO)).toEqual([]);
    expect(call('POST', `/v2/Services/VA${'0'.repeat(32)}/Verifications`, { To: TO, Channel: 'sms' }).status).toBe(404);
  });

  it('5 wrong checks: pending ×4, max_attempts_reached on the 5th, then 429/60202 even for the right code', () => {
    const va = newService();
    const started = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    const code = lastCode(TO);
    const wrongCode = code === '123456' ? '654321' : '123456';
    const statuses = Array.from({ length: 5 }, () => call('POST', `/v2/Services/${va}/VerificationCheck`, { VerificationSid: started.sid, Code: wrongCode }).body.status);
    expect(statuses).toEqual(['pending', 'pending', 'pending', 'pending', 'max_attempts_reached']);
    const blocked = call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: code });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual(errorBody(429, 60202, 'Max check attempts reached'));
    // No new verification to that To until the blocked one expires.
    expect(call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body.code).toBe(60202);
    advance(10 * 60 * 1000);
    expect(call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).status).toBe(201);
  });

  it('re-sending to a pending To keeps the SID and the code, counts each send; the 6th is 429/60203', () => {
    const va = newService();
    const first = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    const code = lastCode(TO);
    for (let i = 2; i <= 5; i++) {
      advance(60_000);
      const resent = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: i === 5 ? 'call' : 'sms' }).body;
      expect(resent.sid).toBe(first.sid);
      expect(resent.send_code_attempts).toHaveLength(i);
      expect(lastCode(TO)).toBe(code);
    }
    expect(devices.read(TO)[0]!.kind).toBe('call');
    const sixth = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' });
    expect(sixth.status).toBe(429);
    expect(sixth.body).toEqual(errorBody(429, 60203, 'Max send attempts reached'));
    expect(devices.read(TO)).toHaveLength(5);
    // Completing the lifecycle (here: cancel) lifts the limit.
    expect(call('POST', `/v2/Services/${va}/Verifications/${first.sid}`, { Status: 'canceled' }).body.status).toBe('canceled');
    const next = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    expect(next.sid).not.toBe(first.sid);
  });

  it('expires 10 minutes after creation: fetch and check answer 20404', () => {
    const va = newService();
    const v = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    const code = lastCode(TO);
    advance(10 * 60 * 1000 - 1000);
    expect(call('GET', `/v2/Services/${va}/Verifications/${v.sid}`).body.status).toBe('pending');
    advance(1000);
    expect(call('GET', `/v2/Services/${va}/Verifications/${v.sid}`).body).toMatchObject({ status: 404, code: 20404 });
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: code }).body).toMatchObject({ status: 404, code: 20404 });
    expect(store.codeOf(va, TO)).toBeUndefined();
  });

  it('fetch and update by To (raw + or %2B), Status approved or canceled, others 60200; a finished one is 20404', () => {
    const va = newService();
    const v = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    expect(call('GET', `/v2/Services/${va}/Verifications/${TO}`).body.sid).toBe(v.sid);
    expect(call('GET', `/v2/Services/${va}/Verifications/${encodeURIComponent(TO)}`).body.sid).toBe(v.sid);
    expect(call('POST', `/v2/Services/${va}/Verifications/${v.sid}`, { Status: 'pending' }).body).toMatchObject({ code: 60200, message: 'Invalid parameter: Status' });
    expect(call('POST', `/v2/Services/${va}/Verifications/${encodeURIComponent(TO)}`, { Status: 'approved' }).body).toMatchObject({ status: 'approved', valid: true });
    expect(call('POST', `/v2/Services/${va}/Verifications/${v.sid}`, { Status: 'canceled' }).body).toMatchObject({ status: 404, code: 20404 });
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { VerificationSid: v.sid, Code: '123456' }).body.code).toBe(20404);
  });

  it('checks Code format (4-10 digits) and needs To or VerificationSid; a verification of another service is 20404', () => {
    const va = newService();
    const other = newService();
    const v = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { To: TO, Code: '12' }).body).toMatchObject({ code: 60200, message: 'Invalid parameter: Code' });
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { Code: '123456' }).body).toMatchObject({ code: 20001 });
    expect(call('POST', `/v2/Services/${other}/VerificationCheck`, { VerificationSid: v.sid, Code: lastCode(TO) }).body.code).toBe(20404);
    expect(call('POST', `/v2/Services/${va}/VerificationCheck`, { VerificationSid: v.sid, Code: lastCode(TO) }).body.status).toBe('approved');
  });

  it('honours CustomCode only when the service enables it, and the do-not-share warning', () => {
    const plain = newService();
    expect(call('POST', `/v2/Services/${plain}/Verifications`, { To: TO, Channel: 'sms', CustomCode: '4321' }).body).toMatchObject({ code: 60200, message: 'Invalid parameter: CustomCode' });
    const custom = newService({ CustomCodeEnabled: 'true', DoNotShareWarningEnabled: 'true' });
    call('POST', `/v2/Services/${custom}/Verifications`, { To: TO, Channel: 'sms', CustomCode: '4321' });
    expect(devices.read(TO)[0]!.body).toBe('Your Acme verification code is: 4321. Don’t share this code with anyone; our employees will never ask for the code');
    expect(store.codeOf(custom, TO)).toBe('4321');
  });

  it('deleting a service deletes its verifications', () => {
    const va = newService();
    const v = call('POST', `/v2/Services/${va}/Verifications`, { To: TO, Channel: 'sms' }).body;
    call('DELETE', `/v2/Services/${va}`);
    expect(call('GET', `/v2/Services/${va}/Verifications/${v.sid}`).body.code).toBe(20404);
  });
});

describe('device log', () => {
  it('keeps the newest first, bounded per address, canonical addresses; the admin route reads it with a raw + kept', () => {
    const log = new DeviceLog(3);
    for (let i = 1; i <= 5; i++) log.record(i % 2 ? '+14155550100' : 'whatsapp:+14155550100', { kind: 'sms', from: '+15005550006', body: `m${i}`, at: new Date(i * 1000) });
    log.record('Bob@Example.COM', { kind: 'email', from: 'x@y.z', subject: 'Hi', body: 'hello', at: new Date(0) });
    expect(log.read('+14155550100').map((e) => e.body)).toEqual(['m5', 'm4', 'm3']);
    expect(log.read('+14155550100', 1).map((e) => e.body)).toEqual(['m5']);
    expect(log.read('bob@example.com')[0]).toMatchObject({ subject: 'Hi', address: 'bob@example.com' });

    const raw = deviceLogRoute(log, 'GET', '/__sandbox/devices/+14155550100', parseQuery('limit=2'));
    expect(raw?.status).toBe(200);
    expect((raw?.body as any[]).map((e) => e.body)).toEqual(['m5', 'm4']);
    expect((raw?.body as any[])[0]).toEqual({ address: '+14155550100', kind: 'sms', from: '+15005550006', body: 'm5', subject: null, at: '1970-01-01T00:00:05.000Z' });
    const encoded = deviceLogRoute(log, 'GET', '/__sandbox/devices/%2B14155550100', new Map());
    expect((encoded?.body as any[]).length).toBe(3);
    expect(deviceLogRoute(log, 'GET', `/__sandbox/devices/${encodeURIComponent('BOB@example.com')}`, new Map())?.body).toHaveLength(1);
    expect(deviceLogRoute(log, 'GET', '/__sandbox/devices/+19995550000', new Map())?.body).toEqual([]);
    expect(deviceLogRoute(log, 'POST', '/__sandbox/devices/+14155550100', new Map())).toBeUndefined();
    expect(() => deviceLogRoute(log, 'GET', '/__sandbox/devices/+14155550100', parseQuery('limit=-1'))).toThrow(TwilioError);
  });
});
