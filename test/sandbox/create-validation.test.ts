/**
 * CreateMessage refusals: each documented Twilio code for each bad request, HTTP 400 with
 * Twilio's error body; plus the update, delete and routing errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { basicAuth, client, type Form } from './http.js';

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 20, deliveredMs: 30 } });
  api = client(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
});

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();
const SENDER = '+15005550006';
const TO = '+14155550100';
const HX = `HX${'a'.repeat(32)}`;

describe('create refusals', () => {
  const cases: Array<[string, () => Form, number]> = [
    ['no To', () => ({ From: SENDER, Body: 'x' }), 21604],
    ['no From nor service', () => ({ To: TO, Body: 'x' }), 21603],
    ['no Body, media or content', () => ({ To: TO, From: SENDER }), 21602],
    ['Body of 1601 characters', () => ({ To: TO, From: SENDER, Body: 'x'.repeat(1601) }), 21617],
    ['11 media URLs', () => ({ To: TO, From: SENDER, MediaUrl: Array.from({ length: 11 }, (_, i) => `https://e.com/${i}.jpg`) }), 21623],
    ['a media URL that is not http(s)', () => ({ To: TO, From: SENDER, MediaUrl: 'ftp://e.com/a.jpg' }), 21620],
    ['ContentVariables without ContentSid', () => ({ To: TO, From: SENDER, Body: 'x', ContentVariables: '{"1":"a"}' }), 21654],
    ['a malformed ContentSid', () => ({ To: TO, From: SENDER, ContentSid: 'HX123' }), 21655],
    ['ContentVariables that are not a JSON object', () => ({ To: TO, From: SENDER, ContentSid: HX, ContentVariables: '{1:' }), 21656],
    ['a StatusCallback that is not a URL', () => ({ To: TO, From: SENDER, Body: 'x', StatusCallback: 'not a url' }), 21609],
    ['a malformed MessagingServiceSid', () => ({ To: TO, MessagingServiceSid: 'MG123', Body: 'x' }), 21705],
    ["another account's MessagingServiceSid", () => ({ To: TO, MessagingServiceSid: `MG${'f'.repeat(32)}`, Body: 'x' }), 21701],
    ['a To that is not a number', () => ({ To: '4155550100x', From: SENDER, Body: 'x' }), 21211],
    ['a From that is no sender shape', () => ({ To: TO, From: '+1-not-a-number!', Body: 'x' }), 21212],
    ['a From that is not the account’s', () => ({ To: TO, From: '+14155559999', Body: 'x' }), 21606],
    ['an alphanumeric sender the account lacks', () => ({ To: TO, From: 'ACME', Body: 'x' }), 21606],
    ['a WhatsApp From to an SMS To', () => ({ To: TO, From: `whatsapp:${SENDER}`, Body: 'x' }), 21910],
    ['an SMS From to a WhatsApp To', () => ({ To: `whatsapp:${TO}`, From: SENDER, Body: 'x' }), 21910],
    ['ScheduleType other than fixed', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(60), ScheduleType: 'later' }), 35126],
    ['SendAt without ScheduleType', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(60) }), 35126],
    ['ScheduleType=fixed without SendAt', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', ScheduleType: 'fixed' }), 35111],
    ['scheduling from a number', () => ({ To: TO, From: SENDER, Body: 'x', SendAt: inMinutes(60), ScheduleType: 'fixed' }), 35118],
    ['SendAt 2 minutes ahead', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(2), ScheduleType: 'fixed' }), 35114],
    ['SendAt 36 days ahead', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(36 * 24 * 60), ScheduleType: 'fixed' }), 35114],
    ['SendAt in the past', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(-60), ScheduleType: 'fixed' }), 35114],
    ['SendAt that is not ISO 8601', () => ({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: 'tomorrow', ScheduleType: 'fixed' }), 35114],
  ];
  for (const [name, form, code] of cases) {
    it(`${name} → ${code}`, async () => {
      const { status, json } = await api.send(form());
      expect(json).toEqual({ code, message: expect.any(String), more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
      expect(status).toBe(400);
    });
  }

  it('applies magic numbers through a WhatsApp prefix and a Messaging Service, From before To', async () => {
    expect((await api.send({ To: 'whatsapp:+15005550004', From: sandbox.whatsappSenderNumber, Body: 'x' })).json.code).toBe(21610);
    expect((await api.send({ To: '+15005550009', MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x' })).json.code).toBe(21614);
    expect((await api.send({ To: '+15005550001', From: '+15005550008', Body: 'x' })).json.code).toBe(21611);
    const unreachable = await api.send({ To: '+15005550002', From: SENDER, Body: 'x' });
    expect(unreachable.json.message).toContain(SENDER);
  });

  it('creates nothing when it refuses', async () => {
    const to = '+14155550777';
    await api.send({ To: to, From: '+14155559999', Body: 'x' });
    const list = await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}`);
    expect(list.json.messages).toEqual([]);
  });

  it('accepts the edges: 1600 characters (emoji count as one), 10 media, SendAt just inside the window', async () => {
    expect((await api.send({ To: TO, From: SENDER, Body: '😀'.repeat(1600) })).status).toBe(201);
    expect((await api.send({ To: TO, From: SENDER, MediaUrl: Array.from({ length: 10 }, (_, i) => `https://e.com/${i}.png`) })).status).toBe(201);
    const scheduled = await api.send({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(6), ScheduleType: 'fixed' });
    expect(scheduled.json).toMatchObject({ status: 'scheduled', from: null });
    const nearMax = await api.send({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'x', SendAt: inMinutes(35 * 24 * 60 - 5), ScheduleType: 'fixed' });
    expect(nearMax.status).toBe(201);
  });

  it('takes a Messaging Service SID in From, as Twilio does', async () => {
    const { status, json } = await api.send({ To: TO, From: sandbox.messagingServiceSid, Body: 'via From' });
    expect(status).toBe(201);
    expect(json).toMatchObject({ status: 'accepted', from: null, messaging_service_sid: sandbox.messagingServiceSid });
  });

  it('accepts WhatsApp with a content template and its variables', async () => {
    const { status, json } = await api.send({ To: `whatsapp:${TO}`, From: sandbox.whatsappSenderNumber, ContentSid: HX, ContentVariables: '{"1":"Ada"}' });
    expect(status).toBe(201);
    expect(json).toMatchObject({ from: 'whatsapp:+15005550006', to: `whatsapp:${TO}`, status: 'queued' });
    expect(json.body).toContain(HX);
  });
});

describe('update, delete and routing refusals', () => {
  it('refuses to cancel a message that is not scheduled (30409) and any other Status (20001)', async () => {
    const { json } = await api.send({ To: TO, From: SENDER, Body: 'now' });
    expect((await api.call('POST', api.messagePath(json.sid), { Status: 'canceled' })).json.code).toBe(30409);
    expect((await api.call('POST', api.messagePath(json.sid), { Status: 'delivered' })).json.code).toBe(20001);
    expect((await api.call('POST', api.messagePath(json.sid), {})).json.code).toBe(20001);
  });

  it('refuses to delete or redact a message in flight (20009), and a non-empty Body (20001)', async () => {
    const scheduled = await api.send({ To: TO, MessagingServiceSid: sandbox.messagingServiceSid, Body: 'later', SendAt: inMinutes(60), ScheduleType: 'fixed' });
    const sid = scheduled.json.sid;
    expect((await api.call('DELETE', api.messagePath(sid))).json).toMatchObject({ code: 20009, status: 400 });
    expect((await api.call('POST', api.messagePath(sid), { Body: '' })).json.code).toBe(20009);
    expect((await api.call('POST', api.messagePath(sid), { Body: 'new text' })).json.code).toBe(20001);
    // Once canceled it is finished: delete works.
    expect((await api.call('POST', api.messagePath(sid), { Status: 'canceled' })).json.status).toBe('canceled');
    expect((await api.call('DELETE', api.messagePath(sid))).status).toBe(204);
  });

  it("answers 404/20404 for another account's path and a wrong method on a known resource; 501 for what it does not emulate", async () => {
    const other = `/2010-04-01/Accounts/AC${'1'.repeat(32)}/Messages.json`;
    expect((await api.call('GET', other)).json).toEqual({
      code: 20404,
      message: `The requested resource ${other} was not found`,
      more_info: 'https://www.twilio.com/docs/errors/20404',
      status: 404,
    });
    // Sandbox honesty: a path it does not emulate is 501, never a 404 that looks like "not found".
    const unknown = await api.call('GET', `${api.root}/Nothing.json`);
    expect(unknown.status).toBe(501);
    expect(unknown.json).toMatchObject({ code: 20501, status: 501, message: expect.stringContaining(`does not emulate GET ${api.root}/Nothing.json`) });
    const otherProduct = await api.call('GET', '/v1/Credentials');
    expect(otherProduct.status).toBe(501);
    expect(otherProduct.json.message).toMatch(/does not emulate GET \/v1\/Credentials/);
    expect((await api.call('DELETE', api.messagesPath)).json.code).toBe(20404);
    expect((await api.call('GET', `${api.root}/Messages/SM${'0'.repeat(32)}/Media.json`)).json.code).toBe(20404);
  });

  it('answers 401/20003 with a Basic challenge for missing, wrong or malformed credentials', async () => {
    for (const authorization of ['', basicAuth(sandbox.accountSid, 'nope'), basicAuth(`AC${'1'.repeat(32)}`, sandbox.authToken), 'Bearer x', 'Basic !!!']) {
      const { status, json, headers } = await api.call('GET', api.messagesPath, undefined, { authorization });
      expect(status).toBe(401);
      expect(json).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
      expect(headers.get('www-authenticate')).toBe('Basic realm="Twilio API"');
    }
  });

  it('refuses a bad PageSize and a bad DateSent filter with 20001', async () => {
    expect((await api.call('GET', `${api.messagesPath}?PageSize=1001`)).json.code).toBe(20001);
    expect((await api.call('GET', `${api.messagesPath}?PageSize=0`)).json.code).toBe(20001);
    expect((await api.call('GET', `${api.messagesPath}?DateSent=someday`)).json.code).toBe(20001);
  });
});

describe('startSandbox options', () => {
  it('refuses an account SID that is not AC + 32 hex, and uses a given one and token', async () => {
    await expect(startSandbox({ accountSid: 'AC123' })).rejects.toThrow(/accountSid/);
    const own = await startSandbox({ accountSid: `AC${'ab'.repeat(16)}`, authToken: 'secret-token' });
    try {
      expect(own).toMatchObject({ accountSid: `AC${'ab'.repeat(16)}`, authToken: 'secret-token', testSenderNumber: '+15005550006', whatsappSenderNumber: 'whatsapp:+15005550006' });
      expect(own.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(own.messagingServiceSid).toMatch(/^MG[0-9a-f]{32}$/);
      const { status } = await client(own).call('GET', `/2010-04-01/Accounts/${own.accountSid}.json`);
      expect(status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('draws a fresh random token per start', async () => {
    const a = await startSandbox();
    const b = await startSandbox();
    try {
      expect(a.authToken).toMatch(/^[0-9a-f]{32}$/);
      expect(a.authToken).not.toBe(b.authToken);
      expect(a.accountSid).toBe(b.accountSid);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
