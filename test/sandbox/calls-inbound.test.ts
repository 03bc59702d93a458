/**
 * Inbound calls to the account's number (its VoiceUrl requested, signed, walked), <Reject>,
 * <Dial> legs and conferences, and the list with its filters and paging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { basicAuth, client, eventually, type Form } from './http.js';

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;
let app: Receiver;

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
  api = client(sandbox);
  app = await startReceiver(sandbox.authToken);
});
afterAll(async () => {
  await sandbox?.close();
  await app?.close();
});

const place = async (form: Form) => {
  const { status, json } = await api.call('POST', `${api.root}/Calls.json`, { From: '+15005550006', ...form });
  expect(status).toBe(201);
  return sandbox.waitForCall(json.sid);
};

describe('inbound calls', () => {
  it("request the number's VoiceUrl, signed, with Twilio's voice parameters, and walk the answer with the caller's script", async () => {
    app.on('/voice', '<Response><Gather numDigits="1" action="/voice/menu"><Say>Press a key</Say></Gather></Response>');
    app.on('/voice/menu', '<Response><Say>Goodbye</Say></Response>');
    sandbox.configureNumber({ voiceUrl: app.to('/voice') });
    const result = await sandbox.simulateInboundCall({ from: '+14155550300', script: { inputs: [{ digits: '7' }] } });
    expect(result).toEqual({ callSid: expect.stringMatching(/^CA[0-9a-f]{32}$/), voiceUrl: app.to('/voice') });
    const call = await sandbox.waitForCall(result.callSid);
    expect(call).toMatchObject({ status: 'completed', direction: 'inbound', from: '+14155550300', to: sandbox.testSenderNumber, price: '-0.00850' });
    expect(call.phone_number_sid).toMatch(/^PN/);
    const [first] = app.at('/voice');
    expect(first).toMatchObject({ method: 'POST', signatureValid: true });
    expect(first!.params).toMatchObject({
      CallSid: result.callSid, AccountSid: sandbox.accountSid, From: '+14155550300', To: sandbox.testSenderNumber, Caller: '+14155550300',
      Called: sandbox.testSenderNumber, CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01',
    });
    const [menu] = app.at('/voice/menu');
    expect(menu!.params).toMatchObject({ Digits: '7', CallStatus: 'in-progress' });
  });

  it('resolve once the walk has started, not at its end', async () => {
    app.on('/slow', '<Response><Pause length="300"/></Response>');
    sandbox.configureNumber({ voiceUrl: app.to('/slow') });
    const result = await sandbox.simulateInboundCall({ from: '+14155550301' });
    const { json } = await api.call('GET', `${api.root}/Calls/${result.callSid}.json`);
    expect(['ringing', 'in-progress']).toContain(json.status);
    await api.call('POST', `${api.root}/Calls/${result.callSid}.json`, { Status: 'completed' });
  });

  it("use the script set for the caller's number when none is given; VoiceMethod=GET is honoured", async () => {
    app.on('/voice-get', '<Response><Gather input="speech" action="/voice-get/said"/></Response>');
    app.on('/voice-get/said', '<Response/>');
    const number = (await api.call('GET', `${api.root}/IncomingPhoneNumbers.json`)).json.incoming_phone_numbers[0];
    const updated = await api.call('POST', `${api.root}/IncomingPhoneNumbers/${number.sid}.json`, { VoiceUrl: app.to('/voice-get'), VoiceMethod: 'GET' });
    expect(updated.json).toMatchObject({ voice_url: app.to('/voice-get'), voice_method: 'GET' });
    sandbox.scriptCaller('+14155550302', { inputs: [{ speech: 'hello there' }] });
    const { callSid } = await sandbox.simulateInboundCall({ from: '+14155550302' });
    await sandbox.waitForCall(callSid);
    expect(app.at('/voice-get')[0]).toMatchObject({ method: 'GET', signatureValid: true });
    expect(app.at('/voice-get/said')[0]!.params).toMatchObject({ SpeechResult: 'hello there', Confidence: '0.9' });
    sandbox.configureNumber({ voiceMethod: 'POST' });
  });

  it('<Reject> as the first verb leaves the call unanswered: busy, or no-answer for reason=rejected; nothing billed', async () => {
    for (const [reason, status] of [['busy', 'busy'], ['rejected', 'no-answer']] as const) {
      sandbox.configureNumber({ voiceUrl: app.to(`/reject-${reason}`) });
      app.on(`/reject-${reason}`, `<Response><Reject reason="${reason}"/></Response>`);
      const { callSid } = await sandbox.simulateInboundCall({ from: '+14155550303' });
      expect(await sandbox.waitForCall(callSid)).toMatchObject({ status, duration: null, price: null, start_time: null });
    }
  });

  it("the number's status callback hears the end of its calls", async () => {
    app.on('/voice-cb', '<Response><Say>hi</Say></Response>');
    sandbox.configureNumber({ voiceUrl: app.to('/voice-cb'), statusCallback: app.to('/number-status') });
    const { callSid } = await sandbox.simulateInboundCall({ from: '+14155550304' });
    await sandbox.waitForCall(callSid);
    const [cb] = await app.waitFor('/number-status', 1);
    expect(cb!.params).toMatchObject({ CallSid: callSid, CallStatus: 'completed', Direction: 'inbound', SequenceNumber: '0' });
    expect(cb!.signatureValid).toBe(true);
    sandbox.configureNumber({ statusCallback: null });
  });

  it('a VoiceUrl the callback policy refuses is not requested: webhookRefused, and the call fails', async () => {
    const guarded = await startSandbox({ voiceTiming: { msPerSecond: 1 }, callbackPolicy: { isOwnReceiver: () => false } });
    guarded.configureNumber({ voiceUrl: app.to('/never-called') });
    const result = await guarded.simulateInboundCall({ from: '+14155550305' });
    expect(result.webhookRefused).toMatch(/loopback/);
    expect((await guarded.waitForCall(result.callSid)).status).toBe('failed');
    expect(guarded.callTrace(result.callSid)[0]!.error!.code).toBe(11200);
    expect(app.at('/never-called')).toEqual([]);
    await guarded.close();
  });

  it('over HTTP: POST /__sandbox/inbound-calls', async () => {
    app.on('/voice-http', '<Response><Pause length="10"/></Response>');
    sandbox.configureNumber({ voiceUrl: app.to('/voice-http') });
    const response = await fetch(`${sandbox.baseUrl}/__sandbox/inbound-calls`, {
      method: 'POST',
      headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken) },
      body: JSON.stringify({ from: '+14155550306', script: { hangup_after_seconds: 1 } }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { callSid: string; voiceUrl: string };
    expect(body.voiceUrl).toBe(app.to('/voice-http'));
    expect((await sandbox.waitForCall(body.callSid)).duration).toBe('1');
  });

  it('no VoiceUrl: answered with the default greeting, then hung up', async () => {
    sandbox.configureNumber({ voiceUrl: null });
    const { callSid, voiceUrl } = await sandbox.simulateInboundCall({ from: '+14155550307' });
    expect(voiceUrl).toBeNull();
    expect(await sandbox.waitForCall(callSid)).toMatchObject({ status: 'completed', duration: '3' });
  });
});

describe('<Dial>', () => {
  it('a Number answered by its script: a child leg (outbound-dial) and the action with DialCallStatus, DialCallSid, DialCallDuration', async () => {
    sandbox.scriptCaller('+14155550310', { hangup_after_seconds: 7 });
    app.on('/dial-done', '<Response><Say>bye</Say></Response>');
    const call = await place({ To: '+14155550311', Twiml: `<Response><Dial action="${app.to('/dial-done')}" timeout="20"><Number>+14155550310</Number></Dial></Response>` });
    const [action] = app.at('/dial-done');
    expect(action!.params).toMatchObject({ DialCallStatus: 'completed', DialCallDuration: '7', CallSid: call.sid });
    const child = await api.call('GET', `${api.root}/Calls/${action!.params.DialCallSid}.json`);
    expect(child.json).toMatchObject({ direction: 'outbound-dial', parent_call_sid: call.sid, to: '+14155550310', from: '+15005550006', status: 'completed', duration: '7' });
    const byParent = await api.call('GET', `${api.root}/Calls.json?ParentCallSid=${call.sid}`);
    expect(byParent.json.calls.map((c: { sid: string }) => c.sid)).toEqual([action!.params.DialCallSid]);
  });

  it.each([
    ['+14155554001', 'busy'],
    ['+14155554002', 'no-answer'],
    ['+14155554003', 'failed'],
  ])('dialing %s → DialCallStatus %s, no DialCallDuration', async (number, status) => {
    const path = `/dial-${status}`;
    app.on(path, '<Response/>');
    await place({ To: '+14155550312', Twiml: `<Response><Dial action="${app.to(path)}" timeout="5">${number}</Dial></Response>` });
    const [action] = app.at(path);
    expect(action!.params.DialCallStatus).toBe(status);
    expect(action!.params.DialCallDuration).toBeUndefined();
  });

  it('without an action the walk goes on after the Dial; Queue never finds anyone (no-answer)', async () => {
    const call = await place({ To: '+14155550313', Twiml: '<Response><Dial timeout="3"><Queue>support</Queue></Dial><Say>after the dial</Say></Response>' });
    const trace = sandbox.callTrace(call.sid!);
    expect(trace.find((s) => s.verb === 'Dial/result')!.result).toMatchObject({ DialCallStatus: 'no-answer' });
    expect(trace.map((s) => s.text)).toContain('after the dial');
  });

  it('a Conference is joined and held until the caller hangs up', async () => {
    sandbox.scriptCaller('+14155550314', { hangup_after_seconds: 12 });
    const call = await place({ To: '+14155550314', Twiml: '<Response><Dial><Conference>standup</Conference></Dial></Response>' });
    expect(call).toMatchObject({ status: 'completed', duration: '12' });
    const joined = sandbox.callTrace(call.sid!).find((s) => s.verb === 'Dial/Conference')!;
    expect(joined.text).toBe('standup');
    expect(joined.result!.ConferenceSid).toMatch(/^CF[0-9a-f]{32}$/);
  });
});

describe('list', () => {
  it('newest first, filtered by To, From, Status and StartTime, paged with tokens', async () => {
    const to = '+14155550320';
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) sids.push((await place({ To: to, Twiml: '<Response/>' })).sid!);
    await place({ To: '+14155554001', Twiml: '<Response/>' });
    const page = await api.call('GET', `${api.root}/Calls.json?To=${encodeURIComponent(to)}&PageSize=2`);
    expect(page.json.calls.map((c: { sid: string }) => c.sid)).toEqual([sids[2], sids[1]]);
    const next = await api.call('GET', page.json.next_page_uri);
    expect(next.json.calls.map((c: { sid: string }) => c.sid)).toEqual([sids[0]]);
    const busy = await api.call('GET', `${api.root}/Calls.json?Status=busy&To=%2B14155554001`);
    expect(busy.json.calls.length).toBeGreaterThan(0);
    expect(busy.json.calls.every((c: { status: string }) => c.status === 'busy')).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    const started = await api.call('GET', `${api.root}/Calls.json?StartTime=${today}&To=${encodeURIComponent(to)}`);
    expect(started.json.calls.length).toBe(3);
    const none = await api.call('GET', `${api.root}/Calls.json?StartTime%3E=2999-01-01&To=${encodeURIComponent(to)}`);
    expect(none.json.calls).toEqual([]);
    const from = await api.call('GET', `${api.root}/Calls.json?From=%2B19999999999`);
    expect(from.json.calls).toEqual([]);
    expect((await api.call('GET', `${api.root}/Calls.json?StartTime=yesterday`)).json.code).toBe(20001);
  });

  it('an unknown call is 404/20404, also for its subresources', async () => {
    const sid = `CA${'0'.repeat(32)}`;
    expect((await api.call('GET', `${api.root}/Calls/${sid}.json`)).json.code).toBe(20404);
    expect((await api.call('GET', `${api.root}/Calls/${sid}/Recordings.json`)).json.code).toBe(20404);
  });

  it('close() stops live calls without further callbacks', async () => {
    const own = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
    const { json } = await client(own).call('POST', `${client(own).root}/Calls.json`, {
      From: '+15005550006', To: '+14155550330', Twiml: '<Response><Pause length="600"/></Response>', StatusCallback: app.to('/closed'),
    });
    await eventually(() => (own.callTrace(json.sid).length > 0 ? true : undefined));
    await own.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.at('/closed')).toEqual([]);
  });
});
