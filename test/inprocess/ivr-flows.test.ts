/**
 * Hosted IVR flows end to end, with no phone: the flow is stored and checked, the sandbox
 * runs the call as Twilio would (fetches each step from this server's receiver, signed,
 * feeds the scripted caller's digits and speech to each gather), and get_call reads back
 * the path the caller took. An "sms" branch texts the caller through the send pipeline.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, reachedSandbox, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();
const VOICE = { toolsets: 'voice,inbox,messaging' };

const MENU = {
  name: 'front-desk',
  description: 'Opening hours, a text with the address, or a voicemail',
  steps: [
    {
      id: 'menu',
      say: 'Press 1 for opening hours, 2 to get our address by text, or say voicemail to leave a message.',
      gather: { input: 'dtmf speech', num_digits: 1, timeout: 5 },
      branches: [
        { digits: '1', action: { type: 'goto', step: 'hours' } },
        { digits: '2', action: { type: 'sms', body: 'Front desk: 1 Main St, open 9-5.', then: 'bye' } },
        { speech: 'voicemail', action: { type: 'voicemail', say: 'Leave a message after the tone.', transcribe: true } },
      ],
    },
    { id: 'hours', say: 'We are open nine to five, Monday to Friday.', next: { type: 'goto', step: 'bye' } },
    { id: 'bye', say: 'Goodbye.', next: { type: 'hangup' } },
  ],
};

/** Waits (bounded) until the call has ended in the sandbox, then reads it through get_call. */
async function finishedCall(server: InProcessServer, callSid: string) {
  await (await server.sandbox()).waitForCall(callSid, { timeoutMs: 10_000 });
  // The last webhook may land just after the call ends: read until the path stops growing (bounded).
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const call = await server.callTool('get_call', { sid: callSid });
    const length = call.json.ivr_path?.length ?? 0;
    if (length === last) return call;
    last = length;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the IVR path kept growing');
}

describe('hosted IVR flows', () => {
  it('a flow is checked when stored: a branch to a missing step names its path and a fix', async () => {
    const server = await start({}, VOICE);
    const broken = { ...MENU, name: 'broken', steps: [{ ...MENU.steps[0], branches: [{ digits: '1', action: { type: 'goto', step: 'hourz' } }] }, MENU.steps[1], MENU.steps[2]] };
    const result = await server.callTool('create_ivr_flow', broken);
    expect(result.isError).toBe(true);
    expect(result.json.rule).toBe('ivr_flow');
    expect(result.json.error).toMatch(/steps\[0\]\.branches\[0\]\.action\.step/);
    expect(result.json.error).toMatch(/hourz/);
    expect((await server.callTool('list_ivr_flows')).json.flows).toEqual([]);
  });

  it('an outbound call runs the flow: digits 1 → hours → bye, and get_call shows the path', async () => {
    const server = await start({}, VOICE);
    expect((await server.callTool('create_ivr_flow', MENU)).json).toMatchObject({ name: 'front-desk', created: true, start: 'menu', steps: ['menu', 'hours', 'bye'] });
    const to = '+14155550701';
    (await server.sandbox()).scriptCaller(to, { inputs: [{ digits: '1' }] });
    const placed = await server.callTool('make_call', { to, ivr_flow: 'front-desk' });
    expect(placed.isError, placed.text).toBe(false);
    expect(placed.json.what_happens).toMatch(/runs IVR flow "front-desk" from step "menu"/);
    const call = await finishedCall(server, placed.json.call_sid);
    expect(call.json.status).toBe('completed');
    expect(call.json.ivr_flow).toBe('front-desk');
    const path = call.json.ivr_path.map((e: { step: string; event: string; digits?: string }) => [e.step, e.event, e.digits ?? null]);
    expect(path).toEqual([
      ['menu', 'prompt', null],
      ['menu', 'answer', '1'],
      ['hours', 'prompt', null],
      ['bye', 'prompt', null],
    ]);
  });

  it('an inbound call to a number answered by the flow: speech "voicemail" records a message', async () => {
    const server = await start({}, VOICE);
    await server.callTool('create_ivr_flow', MENU);
    const set = await server.callTool('set_inbound_call_flow', { flow: 'front-desk' });
    expect(set.isError, set.text).toBe(false);
    expect(set.json.voice_url).toMatch(/\/webhooks\/twilio\/voice\/inbound$/);
    const caller = '+14155550702';
    const rang = await server.callTool('simulate_inbound_call', { from: caller, inputs: [{ speech: 'I want to leave a voicemail please', confidence: 0.91 }, { speech: 'Please call me back about my order.' }] });
    expect(rang.isError, rang.text).toBe(false);
    const call = await finishedCall(server, rang.json.call_sid);
    const answer = call.json.ivr_path.find((e: { event: string }) => e.event === 'answer');
    expect(answer).toMatchObject({ step: 'menu', speech: 'I want to leave a voicemail please', confidence: 0.91 });
    expect(call.json.ivr_path.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['prompt', 'answer', 'voicemail', 'voicemail_recorded']));
    const recordings = await server.callTool('list_recordings', { call_sid: rang.json.call_sid });
    expect(recordings.json.recordings).toHaveLength(1);
  });

  it('an sms branch texts the caller through the send pipeline (and a do-not-text caller gets none)', async () => {
    const server = await start({}, VOICE);
    await server.callTool('create_ivr_flow', MENU);
    const to = '+14155550703';
    (await server.sandbox()).scriptCaller(to, { inputs: [{ digits: '2' }] });
    const texts = await reachedSandbox(server, to, async () => {
      const placed = await server.callTool('make_call', { to, ivr_flow: 'front-desk' });
      const call = await finishedCall(server, placed.json.call_sid);
      const sms = call.json.ivr_path.find((e: { event: string }) => e.event === 'sms');
      expect(sms.detail).toMatch(/^sent SM[0-9a-f]{32}$/);
    });
    expect(texts).toBe(1);
    const audit = await server.callTool('get_audit_log', { tool: 'ivr_flow_sms', limit: 5 });
    expect(audit.json.entries[0]).toMatchObject({ tool: 'ivr_flow_sms', outcome: 'sent', arguments: { to } });

    const optedOut = '+14155550704';
    await server.callTool('add_opt_out', { recipient: optedOut, channel: 'sms' });
    (await server.sandbox()).scriptCaller(optedOut, { inputs: [{ digits: '2' }] });
    const none = await reachedSandbox(server, optedOut, async () => {
      const placed = await server.callTool('make_call', { to: optedOut, ivr_flow: 'front-desk' });
      expect(placed.isError, placed.text).toBe(false);
      const call = await finishedCall(server, placed.json.call_sid);
      expect(call.json.ivr_path.find((e: { event: string }) => e.event === 'sms').detail).toMatch(/^not sent: .*opted out/);
    });
    expect(none).toBe(0);
  });
});
