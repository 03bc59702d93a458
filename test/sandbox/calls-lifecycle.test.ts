/**
 * A call's life: the outcome rules (last four digits, scripts), machine detection, the
 * Timeout, status callbacks per StatusCallbackEvent with their SequenceNumber, price and
 * duration, and REST control of a live call (cancel, hang up, redirect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { client, eventually, type Form } from './http.js';

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;
let app: Receiver;

const SAY = '<Response><Say>Hello from the sandbox</Say></Response>';
const RFC2822 = /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 2 } });
  api = client(sandbox);
  app = await startReceiver(sandbox.authToken);
});
afterAll(async () => {
  await sandbox?.close();
  await app?.close();
});

const place = async (form: Form) => {
  const { status, json } = await api.call('POST', `${api.root}/Calls.json`, { From: '+15005550006', Twiml: SAY, ...form });
  expect(status).toBe(201);
  return json;
};
const callPath = (sid: string) => `${api.root}/Calls/${sid}.json`;

describe('outcome rules', () => {
  it('a human answers any other number: completed, with duration, start/end times and a price per started minute', async () => {
    const created = await place({ To: '+14155550100' });
    expect(created).toMatchObject({ status: 'queued', duration: null, price: null, end_time: null, answered_by: null, direction: 'outbound-api' });
    const done = await sandbox.waitForCall(created.sid);
    expect(done).toMatchObject({ status: 'completed', price: '-0.01400', price_unit: 'USD', answered_by: null });
    // "Hello from the sandbox": 4 words at 2.5 words per second → 1.6 s → 2 s.
    expect(done.duration).toBe('2');
    expect(done.start_time).toMatch(RFC2822);
    expect(Date.parse(done.end_time!) - Date.parse(done.start_time!)).toBe(2000);
    expect(sandbox.callTrace(created.sid).map((s) => s.verb)).toEqual(['Say', 'end']);
  });

  it.each([
    ['+14155554001', 'busy'],
    ['+14155554002', 'no-answer'],
    ['+14155554003', 'failed'],
  ])('%s ends %s: never answered, no duration, no price, no TwiML run', async (to, status) => {
    const created = await place({ To: to, Timeout: '10' });
    const done = await sandbox.waitForCall(created.sid);
    expect(done).toMatchObject({ status, duration: null, price: null, end_time: null, answered_by: null });
    expect(sandbox.callTrace(created.sid).map((s) => s.verb)).toEqual(['end']);
  });

  it('…4002 rings for the whole Timeout before no-answer', async () => {
    const short = await place({ To: '+14155554002', Timeout: '5', StatusCallback: app.to('/t5'), StatusCallbackEvent: ['ringing', 'completed'] });
    const long = await place({ To: '+14155554002', Timeout: '40', StatusCallback: app.to('/t40'), StatusCallbackEvent: ['ringing', 'completed'] });
    await sandbox.waitForCall(short.sid);
    await sandbox.waitForCall(long.sid);
    const [ringing5, done5] = await app.waitFor('/t5', 2);
    const [ringing40, done40] = await app.waitFor('/t40', 2);
    const rang = (a: typeof ringing5, b: typeof done5) => (Date.parse(b!.params.Timestamp!) - Date.parse(a!.params.Timestamp!)) / 1000;
    expect(rang(ringing5, done5)).toBe(5);
    expect(rang(ringing40, done40)).toBe(40);
    expect(done40!.params.CallStatus).toBe('no-answer');
  });

  it('a Timeout shorter than the ring time (4 s) is a no-answer even for a human', async () => {
    const done = await sandbox.waitForCall((await place({ To: '+14155550101', Timeout: '3' })).sid);
    expect(done.status).toBe('no-answer');
  });

  it('…4004 is a machine: the call completes; answered_by stays null without detection', async () => {
    const done = await sandbox.waitForCall((await place({ To: '+14155554004' })).sid);
    expect(done).toMatchObject({ status: 'completed', answered_by: null });
  });

  it("a number's script wins over the digits rule, and can be removed again", async () => {
    sandbox.scriptCaller('+14155550102', { answer: 'busy' });
    expect((await sandbox.waitForCall((await place({ To: '+14155550102' })).sid)).status).toBe('busy');
    sandbox.scriptCaller('+14155554001', { answer: 'human' });
    expect((await sandbox.waitForCall((await place({ To: '+14155554001' })).sid)).status).toBe('completed');
    sandbox.scriptCaller('+14155550102', null);
    sandbox.scriptCaller('+14155554001', null);
    expect((await sandbox.waitForCall((await place({ To: '+14155550102' })).sid)).status).toBe('completed');
  });

  it('the caller hangs up at hangup_after_seconds: completed with that duration', async () => {
    sandbox.scriptCaller('+14155550103', { hangup_after_seconds: 7 });
    const done = await sandbox.waitForCall((await place({ To: '+14155550103', Twiml: '<Response><Pause length="100"/></Response>' })).sid);
    expect(done).toMatchObject({ status: 'completed', duration: '7' });
    expect(sandbox.callTrace(done.sid!).at(-1)).toMatchObject({ verb: 'end', result: { CallStatus: 'completed', by: 'caller-hangup' } });
  });

  it('scripts can be set over HTTP (POST /__sandbox/callers); a bad one is refused whole', async () => {
    const ok = await fetch(`${sandbox.baseUrl}/__sandbox/callers`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}` },
      body: JSON.stringify({ number: '+14155550104', script: { answer: 'failed' } }),
    });
    expect(ok.status).toBe(204);
    expect((await sandbox.waitForCall((await place({ To: '+14155550104' })).sid)).status).toBe('failed');
    const bad = await fetch(`${sandbox.baseUrl}/__sandbox/callers`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}` },
      body: JSON.stringify({ number: '+14155550104', script: { answer: 'maybe' } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: number }).code).toBe(20001);
  });
});

describe('machine detection', () => {
  it.each([
    ['Enable', '+14155550110', 'human'],
    ['Enable', '+14155554004', 'machine_start'],
    ['DetectMessageEnd', '+14155554004', 'machine_end_beep'],
    ['DetectMessageEnd', '+14155550111', 'human'],
  ])('MachineDetection=%s calling %s → answered_by %s, in the Url request and the callbacks', async (mode, to, answeredBy) => {
    const path = `/amd-${mode}-${to}`;
    app.on(path, '<Response><Say>hi</Say></Response>');
    const created = await place({ To: to, Twiml: undefined, Url: app.to(path), MachineDetection: mode, StatusCallback: app.to(`${path}/status`), StatusCallbackEvent: ['answered', 'completed'] });
    const done = await sandbox.waitForCall(created.sid);
    expect(done.answered_by).toBe(answeredBy);
    const [fetched] = await app.waitFor(path, 1);
    expect(fetched!.params.AnsweredBy).toBe(answeredBy);
    const callbacks = await app.waitFor(`${path}/status`, 2);
    expect(callbacks.map((c) => c.params.AnsweredBy)).toEqual([answeredBy, answeredBy]);
  });

  it('detection takes time before the TwiML is fetched: 12 s until the beep, 3 s for machine_start', async () => {
    const ends = async (mode: string) => {
      const done = await sandbox.waitForCall((await place({ To: '+14155554004', MachineDetection: mode })).sid);
      return Number(done.duration);
    };
    // Say "Hello from the sandbox" takes 1.6 s after detection.
    expect(await ends('Enable')).toBe(5);
    expect(await ends('DetectMessageEnd')).toBe(14);
  });
});

describe('status callbacks', () => {
  it('all four events, in order, SequenceNumber 0..3, signed, with Twilio parameters; CallDuration on completed', async () => {
    const created = await place({ To: '+14155550120', StatusCallback: app.to('/all'), StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'] });
    await sandbox.waitForCall(created.sid);
    const callbacks = await app.waitFor('/all', 4);
    expect(callbacks.map((c) => c.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(callbacks.map((c) => c.params.SequenceNumber)).toEqual(['0', '1', '2', '3']);
    for (const c of callbacks) {
      expect(c.signatureValid).toBe(true);
      expect(c.method).toBe('POST');
      expect(c.params).toMatchObject({
        CallSid: created.sid, AccountSid: sandbox.accountSid, From: '+15005550006', To: '+14155550120', ApiVersion: '2010-04-01',
        Direction: 'outbound-api', CallbackSource: 'call-progress-events',
      });
      expect(c.params.Timestamp).toMatch(RFC2822);
    }
    expect(callbacks[3]!.params).toMatchObject({ CallDuration: '2', Duration: '1' });
    expect(callbacks[2]!.params.CallDuration).toBeUndefined();
    expect(callbacks[0]!.params.AnsweredBy).toBeUndefined();
  });

  it('no StatusCallbackEvent means completed only', async () => {
    const created = await place({ To: '+14155550121', StatusCallback: app.to('/default') });
    await sandbox.waitForCall(created.sid);
    await app.waitFor('/default', 1);
    await sandbox.waitForCall((await place({ To: '+14155550121', StatusCallback: app.to('/default-end') })).sid);
    await app.waitFor('/default-end', 1);
    expect(app.at('/default').map((c) => [c.params.CallStatus, c.params.SequenceNumber])).toEqual([['completed', '0']]);
  });

  it('a subset sends only its events, numbered from 0; a busy line never rings', async () => {
    await sandbox.waitForCall((await place({ To: '+14155550122', StatusCallback: app.to('/subset'), StatusCallbackEvent: ['ringing', 'completed'] })).sid);
    const subset = await app.waitFor('/subset', 2);
    expect(subset.map((c) => [c.params.CallStatus, c.params.SequenceNumber])).toEqual([['ringing', '0'], ['completed', '1']]);
    await sandbox.waitForCall((await place({ To: '+14155554001', StatusCallback: app.to('/busy'), StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'] })).sid);
    const busy = await app.waitFor('/busy', 2);
    expect(busy.map((c) => c.params.CallStatus)).toEqual(['initiated', 'busy']);
    expect(busy[1]!.params.CallDuration).toBeUndefined();
  });

  it('StatusCallbackMethod=GET puts the parameters in the query, signed over the full URL', async () => {
    await sandbox.waitForCall((await place({ To: '+14155550123', StatusCallback: app.to('/get?tag=1'), StatusCallbackMethod: 'GET' })).sid);
    const [c] = await app.waitFor('/get', 1);
    expect(c).toMatchObject({ method: 'GET', signatureValid: true });
    expect(c!.params).toMatchObject({ tag: '1', CallStatus: 'completed' });
  });

  it('Record=true: one recording of the whole call, named in the completed callback', async () => {
    const created = await place({ To: '+14155550124', Record: 'true', StatusCallback: app.to('/rec') });
    await sandbox.waitForCall(created.sid);
    const [c] = await app.waitFor('/rec', 1);
    expect(c!.params.RecordingSid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(c!.params.RecordingDuration).toBe('2');
    expect(c!.params.RecordingUrl).toBe(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Recordings/${c!.params.RecordingSid}`);
  });
});

describe('REST control of a live call', () => {
  const LONG = '<Response><Say>one</Say><Pause length="600"/><Say>never</Say></Response>';

  it('Status=canceled ends a ringing call (canceled, its callback sent); on a finished call it is 21220', async () => {
    const created = await place({ To: '+14155554002', Timeout: '600', StatusCallback: app.to('/cancel') });
    await eventually(async () => ((await api.call('GET', callPath(created.sid))).json.status === 'ringing' ? true : undefined));
    const canceled = await api.call('POST', callPath(created.sid), { Status: 'canceled' });
    expect(canceled.json).toMatchObject({ status: 'canceled', duration: null, price: null });
    const [c] = await app.waitFor('/cancel', 1);
    expect(c!.params.CallStatus).toBe('canceled');
    const again = await api.call('POST', callPath(created.sid), { Status: 'canceled' });
    expect(again.json).toMatchObject({ status: 400, code: 21220 });
  });

  it('Status=canceled has no effect on a call in progress (Twilio documents so); Status=completed hangs it up', async () => {
    const created = await place({ To: '+14155550130', Twiml: LONG });
    await eventually(async () => ((await api.call('GET', callPath(created.sid))).json.status === 'in-progress' ? true : undefined));
    expect((await api.call('POST', callPath(created.sid), { Status: 'canceled' })).json.status).toBe('in-progress');
    const hung = await api.call('POST', callPath(created.sid), { Status: 'completed' });
    expect(hung.status).toBe(200);
    expect(hung.json.status).toBe('completed');
    expect(Number(hung.json.duration)).toBeLessThan(600);
    expect(hung.json.price).toBe('-0.01400');
    expect(sandbox.callTrace(created.sid).map((s) => s.text ?? s.verb)).not.toContain('never');
  });

  it('Twiml on a live call redirects it: the walk restarts from the new document', async () => {
    const created = await place({ To: '+14155550131', Twiml: LONG });
    await eventually(() => (sandbox.callTrace(created.sid).some((s) => s.verb === 'Pause') ? true : undefined));
    const redirected = await api.call('POST', callPath(created.sid), { Twiml: '<Response><Say>new document</Say></Response>' });
    expect(redirected.json.status).toBe('in-progress');
    const done = await sandbox.waitForCall(created.sid);
    expect(done.status).toBe('completed');
    const verbs = sandbox.callTrace(created.sid).map((s) => `${s.verb}${s.text ? `:${s.text}` : ''}`);
    expect(verbs).toEqual(['Say:one', 'Pause', 'redirect (REST update):Twiml', 'Say:new document', 'end']);
  });

  it('Url on a live call fetches the new document, signed; an unanswered call keeps it for when it answers', async () => {
    app.on('/next', '<Response><Say>from the url</Say></Response>');
    const live = await place({ To: '+14155550132', Twiml: LONG });
    await eventually(() => (sandbox.callTrace(live.sid).some((s) => s.verb === 'Pause') ? true : undefined));
    await api.call('POST', callPath(live.sid), { Url: app.to('/next') });
    await sandbox.waitForCall(live.sid);
    const [fetched] = await app.waitFor('/next', 1);
    expect(fetched).toMatchObject({ method: 'POST', signatureValid: true });
    expect(fetched!.params).toMatchObject({ CallSid: live.sid, CallStatus: 'in-progress' });

    // A sandbox whose callee rings for 50 simulated seconds (0.5 s real, within the 60 s Timeout): the update surely
    // lands before the answer, however loaded the machine is. Same token, so the receiver's checks hold.
    const slow = await startSandbox({ authToken: sandbox.authToken, voiceTiming: { msPerSecond: 10, ringSeconds: 50 } });
    try {
      const slowApi = client(slow);
      app.on('/later', '<Response><Say>answered later</Say></Response>');
      const created = await slowApi.call('POST', `${slowApi.root}/Calls.json`, { From: '+15005550006', To: '+14155550133', Url: app.to('/never') });
      expect(created.status).toBe(201);
      const changed = await slowApi.call('POST', `${slowApi.root}/Calls/${created.json.sid}.json`, { Url: app.to('/later'), Method: 'GET' });
      expect(['queued', 'ringing']).toContain(changed.json.status);
      await slow.waitForCall(created.json.sid);
      expect((await app.waitFor('/later', 1))[0]!.method).toBe('GET');
      expect(slow.callTrace(created.json.sid).map((s) => s.text).filter(Boolean)).toEqual(['answered later']);
      expect(app.at('/never')).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('an invalid Status is 20001; delete refuses a live call (20009), then removes a finished one (204, then 404)', async () => {
    const created = await place({ To: '+14155550134', Twiml: LONG });
    expect((await api.call('POST', callPath(created.sid), { Status: 'paused' })).json.code).toBe(20001);
    expect((await api.call('DELETE', callPath(created.sid))).json.code).toBe(20009);
    await api.call('POST', callPath(created.sid), { Status: 'completed' });
    expect((await api.call('DELETE', callPath(created.sid))).status).toBe(204);
    expect((await api.call('GET', callPath(created.sid))).json.code).toBe(20404);
  });
});

describe('timing', () => {
  it('with the default timing a whole call (ring, answer, a sentence) is over well under 2 s', async () => {
    const fast = await startSandbox();
    const started = Date.now();
    const { json } = await client(fast).call('POST', `${client(fast).root}/Calls.json`, { To: '+14155550140', From: '+15005550006', Twiml: SAY });
    const done = await fast.waitForCall(json.sid);
    expect(done.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(2000);
    await fast.close();
  });

  it('waitForCall is bounded: it rejects when the call does not finish in time', async () => {
    const created = await place({ To: '+14155550141', Twiml: '<Response><Pause length="600"/></Response>' });
    await expect(sandbox.waitForCall(created.sid, { timeoutMs: 50 })).rejects.toThrow(/did not finish within 50 ms/);
    await api.call('POST', callPath(created.sid), { Status: 'completed' });
  });
});
