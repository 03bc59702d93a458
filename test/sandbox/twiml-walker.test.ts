/**
 * The TwiML walker against a real little IVR app on 127.0.0.1: scripted digits then
 * speech, Gather → action → Redirect → Record → Hangup, with its trace and the exact
 * parameters each action received; the silence path; documents that cannot be run.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { parseTwiml } from '../../src/sandbox/twiml-walker.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { client, type Form } from './http.js';

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

describe('an IVR walked end to end', () => {
  beforeAll(() => {
    app.on(
      '/ivr/welcome',
      '<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" action="menu" timeout="4"><Say>Welcome. Press 1 for billing.</Say></Gather><Say>We did not get that.</Say></Response>',
    );
    app.on('/ivr/menu', (r) =>
      r.params.Digits === '1'
        ? '<Response><Gather input="speech" action="/ivr/speech" method="POST"><Say>Say what you need</Say></Gather></Response>'
        : '<Response><Say>Wrong key</Say><Hangup/></Response>',
    );
    app.on('/ivr/speech', '<Response><Redirect method="POST">record</Redirect></Response>');
    app.on('/ivr/record', '<Response><Say>Leave a message after the beep</Say><Record maxLength="30" action="/ivr/recorded" transcribe="true"/></Response>');
    app.on('/ivr/recorded', '<Response><Say>Thank you</Say><Hangup/><Say>unreachable</Say></Response>');
  });

  it('digits, then speech, then a recording: the right actions with the right parameters, all signed', async () => {
    sandbox.scriptCaller('+14155550200', {
      inputs: [{ digits: '1' }, { speech: 'billing please', confidence: 0.82 }, { speech: 'my card was charged twice', talk_seconds: 7 }],
    });
    const call = await place({ To: '+14155550200', Url: app.to('/ivr/welcome') });
    expect(call.status).toBe('completed');

    const [menu] = app.at('/ivr/menu');
    expect(menu!.params).toMatchObject({ Digits: '1', CallSid: call.sid, AccountSid: sandbox.accountSid, CallStatus: 'in-progress', Direction: 'outbound-api', From: '+15005550006', To: '+14155550200', Caller: '+15005550006', Called: '+14155550200', ApiVersion: '2010-04-01' });
    const [speech] = app.at('/ivr/speech');
    expect(speech!.params).toMatchObject({ SpeechResult: 'billing please', Confidence: '0.82' });
    expect(speech!.params.Digits).toBeUndefined();
    const [recorded] = app.at('/ivr/recorded');
    expect(recorded!.params).toMatchObject({ RecordingDuration: '7', Digits: 'hangup' });
    expect(recorded!.params.RecordingSid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(recorded!.params.RecordingUrl).toBe(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Recordings/${recorded!.params.RecordingSid}`);
    // Relative action and Redirect URLs resolve against the document they appear in.
    expect(app.requests.filter((r) => r.params.CallSid === call.sid).map((r) => r.path)).toEqual(['/ivr/welcome', '/ivr/menu', '/ivr/speech', '/ivr/record', '/ivr/recorded']);
    for (const r of app.requests.filter((r) => r.params.CallSid === call.sid)) {
      expect(r.method).toBe('POST');
      expect(r.signatureValid).toBe(true);
    }

    const trace = sandbox.callTrace(call.sid!);
    expect(trace.map((s) => s.verb)).toEqual([
      'fetch', 'Gather', 'Gather/Say', 'Gather/input', 'fetch', 'Gather', 'Gather/Say', 'Gather/input', 'fetch', 'Redirect', 'fetch', 'Say', 'Record', 'Record/input', 'fetch', 'Say', 'Hangup', 'end',
    ]);
    expect(trace.find((s) => s.verb === 'Gather/input')).toMatchObject({ input: { digits: '1' }, result: { Digits: '1', FinishedOnKey: '' } });
    expect(trace.find((s) => s.verb === 'Record/input')!.result).toMatchObject({ RecordingDuration: '7' });
    expect(trace.find((s) => s.verb === 'Redirect')!.text).toBe(app.to('/ivr/record'));
    expect(trace[0]!.fetched).toEqual({ url: app.to('/ivr/welcome'), method: 'POST', status: 200 });
    // Simulated time: ring 1 + 4 s, then each verb's own length; the trace is in order.
    expect(trace[0]!.at).toBe(5);
    const times = trace.map((s) => s.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(trace.map((s) => s.text)).not.toContain('unreachable');
  });

  it('silence: the Gather times out and the walk goes on with the next verb; no action is requested', async () => {
    sandbox.scriptCaller('+14155550201', { inputs: [{ silence: true }] });
    const before = app.at('/ivr/menu').length;
    const call = await place({ To: '+14155550201', Url: app.to('/ivr/welcome') });
    expect(app.at('/ivr/menu').length).toBe(before);
    const trace = sandbox.callTrace(call.sid!);
    expect(trace.map((s) => s.text).filter(Boolean)).toEqual(['Welcome. Press 1 for billing.', 'We did not get that.']);
    expect(trace.find((s) => s.verb === 'Gather/input')).toMatchObject({ input: { silence: true }, note: 'timed out without input' });
    // Prompt (5 words, 2 s) + the 4 s timeout before the next Say.
    const say = trace.filter((s) => s.verb === 'Say')[0]!;
    expect(say.at).toBe(5 + 2 + 4);
  });

  it('no script at all: every Gather hears silence; actionOnEmptyResult=true still posts the action, without Digits', async () => {
    app.on('/empty', '<Response><Gather actionOnEmptyResult="true" action="/empty-action" timeout="2"><Say>Press something</Say></Gather></Response>');
    app.on('/empty-action', '<Response><Say>nothing pressed</Say></Response>');
    const call = await place({ To: '+14155550202', Url: app.to('/empty') });
    const [posted] = app.at('/empty-action');
    expect(posted!.params.CallSid).toBe(call.sid);
    expect(posted!.params.Digits).toBeUndefined();
  });

  it('Gather: finishOnKey cuts the digits and is reported; numDigits takes the first ones', async () => {
    app.on('/keys', '<Response><Gather action="/keys-action" finishOnKey="#"/><Gather action="/keys-action" numDigits="2"/></Response>');
    app.on('/keys-action', (r) => (r.params.Digits === '123' ? '<Response><Gather action="/keys-action" numDigits="2"/></Response>' : '<Response/>'));
    sandbox.scriptCaller('+14155550203', { inputs: [{ digits: '123#9' }, { digits: '4567' }] });
    await place({ To: '+14155550203', Url: app.to('/keys') });
    expect(app.at('/keys-action').map((r) => [r.params.Digits, r.params.FinishedOnKey])).toEqual([['123', '#'], ['45', '']]);
  });

  it("the SDK's VoiceResponse document (inline Twiml) is walked verb by verb", async () => {
    const response = new twilio.twiml.VoiceResponse();
    response.say({ voice: 'alice' }, 'Hello from the SDK');
    response.play({ loop: 2 }, 'https://example.com/hold.mp3');
    response.pause({ length: 3 });
    response.hangup();
    response.say('never said');
    const call = await place({ To: '+14155550204', Twiml: response.toString() });
    const trace = sandbox.callTrace(call.sid!);
    expect(trace.map((s) => s.verb)).toEqual(['Say', 'Play', 'Pause', 'Hangup', 'end']);
    expect(trace[0]).toMatchObject({ attributes: { voice: 'alice' }, text: 'Hello from the SDK' });
    // Say 4 words (1.6 s) + Play 2 × 5 s + Pause 3 s.
    expect(call.duration).toBe('15');
  });

  it('Record with silence records nothing and does not request the action', async () => {
    app.on('/silent-record', '<Response><Record action="/silent-recorded" timeout="3"/><Say>no message</Say></Response>');
    sandbox.scriptCaller('+14155550205', { inputs: [{ silence: true }] });
    const call = await place({ To: '+14155550205', Url: app.to('/silent-record') });
    expect(app.at('/silent-recorded')).toEqual([]);
    expect(sandbox.callTrace(call.sid!).map((s) => s.text).filter(Boolean)).toEqual(['no message']);
  });

  it('a key ends a recording: Digits is that key', async () => {
    app.on('/key-record', '<Response><Record action="/key-recorded" playBeep="false"/></Response>');
    sandbox.scriptCaller('+14155550206', { inputs: [{ talk_seconds: 4, digits: '#' }] });
    await place({ To: '+14155550206', Url: app.to('/key-record') });
    expect(app.at('/key-recorded')[0]!.params).toMatchObject({ Digits: '#', RecordingDuration: '4' });
  });

  it('Url with Method=GET: the call parameters travel in the query, signed over the full URL', async () => {
    app.on('/get-doc', '<Response><Say>got</Say></Response>');
    const call = await place({ To: '+14155550207', Url: app.to('/get-doc?menu=main'), Method: 'GET' });
    const [r] = app.at('/get-doc');
    expect(r).toMatchObject({ method: 'GET', signatureValid: true });
    expect(r!.params).toMatchObject({ menu: 'main', CallSid: call.sid, CallStatus: 'in-progress' });
  });

  it('Connect (and the other verbs not emulated) is recorded, and the call ends there', async () => {
    const call = await place({ To: '+14155550208', Twiml: '<Response><Say>hi</Say><Connect><Stream url="wss://example.com/s"/></Connect><Say>after</Say></Response>' });
    expect(call.status).toBe('completed');
    const trace = sandbox.callTrace(call.sid!);
    expect(trace.map((s) => s.verb)).toEqual(['Say', 'Connect', 'end']);
    expect(trace[1]!.note).toMatch(/not emulated/);
  });
});

describe('documents that cannot be run', () => {
  it.each([
    ['not well-formed', 12100, '<Response><Say>unclosed</Response>'],
    ['not XML at all', 12100, 'Internal error, sorry'],
    ['a root other than Response', 12102, '<Reply><Say>hi</Say></Reply>'],
  ])('%s → %i recorded, the call completes', async (_name, code, body) => {
    const path = `/bad-${code}-${body.length}`;
    app.on(path, body);
    const call = await place({ To: '+14155550210', Url: app.to(path) });
    expect(call.status).toBe('completed');
    const trace = sandbox.callTrace(call.sid!);
    expect(trace.map((s) => s.verb)).toEqual(['fetch', 'error', 'end']);
    expect(trace[1]!.error!.code).toBe(code);
  });

  it('the same for inline Twiml', async () => {
    const call = await place({ To: '+14155550211', Twiml: '<Response><Say>oops</Say>' });
    expect(sandbox.callTrace(call.sid!).find((s) => s.verb === 'error')!.error!.code).toBe(12100);
  });

  it('a document URL answering 500 is 11200 (HTTP retrieval failure)', async () => {
    app.on('/broken', { status: 500, body: 'boom' });
    const call = await place({ To: '+14155550212', Url: app.to('/broken') });
    const trace = sandbox.callTrace(call.sid!);
    expect(trace[0]!.fetched).toMatchObject({ status: 500 });
    expect(trace[1]!.error!.code).toBe(11200);
  });

  it('a Redirect loop stops after 20 in a row with 11215', async () => {
    app.on('/loop', '<Response><Redirect>/loop</Redirect></Response>');
    const call = await place({ To: '+14155550213', Url: app.to('/loop') });
    expect(call.status).toBe('completed');
    expect(app.at('/loop').filter((r) => r.params.CallSid === call.sid).length).toBe(21);
    expect(sandbox.callTrace(call.sid!).find((s) => s.verb === 'error')!.error!.code).toBe(11215);
  });

  it('a relative URL in inline Twiml has nothing to be relative to: 11100', async () => {
    const call = await place({ To: '+14155550214', Twiml: '<Response><Redirect>/next</Redirect></Response>' });
    expect(sandbox.callTrace(call.sid!).find((s) => s.verb === 'error')!.error!.code).toBe(11100);
  });
});

describe('parseTwiml', () => {
  it('keeps verb order, attributes, text with entities decoded, nested nouns', () => {
    const parsed = parseTwiml('<?xml version="1.0"?><Response><Say language="en-US">Tom &amp; Jerry</Say><Dial action="/d"><Number>+14155550100</Number></Dial></Response>');
    expect(parsed).toEqual({
      verbs: [
        { name: 'Say', attrs: { language: 'en-US' }, text: 'Tom & Jerry', children: [] },
        { name: 'Dial', attrs: { action: '/d' }, text: '', children: [{ name: 'Number', attrs: {}, text: '+14155550100', children: [] }] },
      ],
    });
  });
});
