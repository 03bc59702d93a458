/**
 * The official `twilio` SDK as a client of the sandbox's Calls: what a user's project does
 * against Twilio works against the emulator — repeated StatusCallbackEvent keys, callbacks
 * that twilio.validateRequest accepts, list filters, hang-up, and the SDK's own
 * VoiceResponse documents walked.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from '../sandbox/calls-receiver.js';
import { sandboxTwilioClient } from './sdk-client.js';

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;
let app: Receiver;

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 1 } });
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
  app = await startReceiver(sandbox.authToken);
});
afterAll(async () => {
  await sandbox?.close();
  await app?.close();
});

async function restError(promise: Promise<unknown>): Promise<{ code: number; status: number }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof twilio.RestException) return error as never;
    throw error;
  }
  throw new Error('expected a RestException');
}

describe('official SDK against the sandbox: Calls', () => {
  it('calls.create with twiml: a CallInstance, then completed on fetch', async () => {
    const created = await client.calls.create({ to: '+14155550500', from: sandbox.testSenderNumber, twiml: '<Response><Say>Hello</Say></Response>' });
    expect(created.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(created.status).toBe('queued');
    expect(created.dateCreated).toBeInstanceOf(Date);
    await sandbox.waitForCall(created.sid);
    const fetched = await client.calls(created.sid).fetch();
    expect(fetched.status).toBe('completed');
    expect(fetched.startTime).toBeInstanceOf(Date);
    expect(fetched.duration).toBe('0');
    expect(fetched.price).toBe('-0.01400');
  });

  it('statusCallbackEvent with all four events: the SDK repeats the key, the sandbox hears all four and sends four signed callbacks', async () => {
    const url = app.to('/sdk-status');
    const created = await client.calls.create({
      to: '+14155550501',
      from: sandbox.testSenderNumber,
      twiml: '<Response><Say>Hello there</Say></Response>',
      statusCallback: url,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    await sandbox.waitForCall(created.sid);
    const callbacks = await app.waitFor('/sdk-status', 4);
    expect(callbacks.map((c) => c.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(callbacks.map((c) => c.params.SequenceNumber)).toEqual(['0', '1', '2', '3']);
    for (const c of callbacks) {
      expect(c.signature).not.toBe('');
      expect(twilio.validateRequest(sandbox.authToken, c.signature, url, c.params)).toBe(true);
      // A tampered parameter must not validate: the check is real.
      expect(twilio.validateRequest(sandbox.authToken, c.signature, url, { ...c.params, CallStatus: 'x' })).toBe(false);
    }
  });

  it('invalid requests raise RestException with Twilio codes', async () => {
    expect((await restError(client.calls.create({ to: '+15005550002', from: sandbox.testSenderNumber, twiml: '<Response/>' }))).code).toBe(21214);
    expect((await restError(client.calls.create({ to: '+14155550502', from: '+14155550999', twiml: '<Response/>' }))).code).toBe(21210);
    expect((await restError(client.calls.create({ to: '+14155550502', from: sandbox.testSenderNumber, url: 'not a url' }))).code).toBe(21205);
  });

  it('calls.list with filters, across pages', async () => {
    const to = '+14155550503';
    const sids = [];
    for (let i = 0; i < 3; i++) sids.push((await client.calls.create({ to, from: sandbox.testSenderNumber, twiml: '<Response/>' })).sid);
    await client.calls.create({ to: '+14155554001', from: sandbox.testSenderNumber, twiml: '<Response/>' });
    for (const sid of sids) await sandbox.waitForCall(sid);
    const listed = await client.calls.list({ to, pageSize: 2, limit: 10 });
    expect(listed.map((c) => c.sid)).toEqual([...sids].reverse());
    const completed = await client.calls.list({ to, status: 'completed' });
    expect(completed).toHaveLength(3);
    const today = new Date();
    expect(await client.calls.list({ to, startTimeAfter: new Date(today.getTime() - 86_400_000) })).toHaveLength(3);
    expect(await client.calls.list({ to, status: 'busy' })).toHaveLength(0);
  });

  it('calls(sid).update({status: "completed"}) hangs up a live call', async () => {
    const live = await client.calls.create({ to: '+14155550504', from: sandbox.testSenderNumber, twiml: '<Response><Pause length="600"/></Response>' });
    for (let i = 0; i < 200 && (await client.calls(live.sid).fetch()).status !== 'in-progress'; i++) await new Promise((r) => setTimeout(r, 5));
    const ended = await client.calls(live.sid).update({ status: 'completed' });
    expect(ended.status).toBe('completed');
    expect(Number(ended.duration)).toBeLessThan(600);
    expect((await restError(client.calls(live.sid).update({ twiml: '<Response/>' }))).code).toBe(21220);
    expect(await client.calls(live.sid).remove()).toBe(true);
  });

  it("the SDK's VoiceResponse, served from a URL, is walked: Gather with scripted digits, then the action's document", async () => {
    const menu = new twilio.twiml.VoiceResponse();
    menu.gather({ numDigits: 1, action: '/sdk-ivr/choice' }).say('Press 2 for sales');
    menu.say('Goodbye');
    app.on('/sdk-ivr', menu.toString());
    app.on('/sdk-ivr/choice', (r) => {
      const reply = new twilio.twiml.VoiceResponse();
      reply.say(`You pressed ${r.params.Digits}`);
      reply.hangup();
      return reply.toString();
    });
    sandbox.scriptCaller('+14155550505', { inputs: [{ digits: '2' }] });
    const created = await client.calls.create({ to: '+14155550505', from: sandbox.testSenderNumber, url: app.to('/sdk-ivr') });
    await sandbox.waitForCall(created.sid);
    expect(app.at('/sdk-ivr/choice')[0]!.params.Digits).toBe('2');
    const said = sandbox.callTrace(created.sid).filter((s) => s.text).map((s) => s.text);
    expect(said).toEqual(['Press 2 for sales', 'You pressed 2']);
  });
});
