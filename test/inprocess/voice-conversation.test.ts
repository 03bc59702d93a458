/**
 * A live phone conversation held by the agent through ConversationRelay, with no phone: the
 * sandbox places the call, opens this server's relay socket (signed handshake) and plays a
 * scripted caller who asks, interrupts once, presses a digit and hangs up. Both sides'
 * record of the conversation must match exactly.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, callsReachingSandbox, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();
const VOICE = { toolsets: 'voice,messaging,inbox' };

async function turn(server: InProcessServer, callSid: string) {
  const waited = await server.callTool('wait_for_caller', { call_sid: callSid, timeout_seconds: 10 });
  expect(waited.isError, waited.text).toBe(false);
  return waited.json.turn;
}

describe('live voice conversations', () => {
  it('agent and scripted caller talk turn by turn; the transcript in get_call matches what the caller heard and said', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550961';
    const scripted = await server.callTool('script_caller', {
      to,
      turns: [{ say: 'What are your opening hours?' }, { interrupt_after_tokens: 2, say: 'And on Sunday?' }, { digits: '1' }, { say: 'Thank you.' }, { hangup: true }],
    });
    expect(scripted.isError, scripted.text).toBe(false);
    const started = await server.callTool('start_voice_conversation', { to, greeting: 'Hello, this is the front desk.', purpose: 'answer opening-hours questions' });
    expect(started.isError, started.text).toBe(false);
    const callSid = started.json.call_sid;

    expect(await turn(server, callSid)).toMatchObject({ kind: 'said', text: 'What are your opening hours?' });
    await server.callTool('say_on_call', { call_sid: callSid, text: 'We are open nine to five on weekdays.' });
    expect(await turn(server, callSid)).toMatchObject({ kind: 'interrupted', heard_until_interrupt: expect.stringMatching(/^We are/) });
    expect(await turn(server, callSid)).toMatchObject({ kind: 'said', text: 'And on Sunday?' });
    await server.callTool('say_on_call', { call_sid: callSid, text: 'Closed on Sunday. Press 1 to get a text.' });
    expect(await turn(server, callSid)).toMatchObject({ kind: 'digits', digits: '1' });
    // Speech after the keys: a reply is owed to speech (not to keys), so the last line is
    // heard before the caller hangs up, however slow this side is.
    expect(await turn(server, callSid)).toMatchObject({ kind: 'said', text: 'Thank you.' });
    const last = await server.callTool('say_on_call', { call_sid: callSid, text: 'Done. Goodbye.' });
    expect(last.isError, last.text).toBe(false);
    expect(await turn(server, callSid)).toMatchObject({ kind: 'ended', outcome: 'caller_hung_up' });

    const call = await server.callTool('get_call', { sid: callSid });
    const ours = call.json.conversation.transcript.filter((t: { speaker: string }) => t.speaker !== 'server').map((t: { speaker: string; kind: string; text: string }) => `${t.speaker}:${t.kind}:${t.text}`);
    expect(call.json.conversation).toMatchObject({ purpose: 'answer opening-hours questions', outcome: 'caller_hung_up' });
    expect(ours).toEqual([
      'agent:said:Hello, this is the front desk.',
      'caller:said:What are your opening hours?',
      'agent:said:We are open nine to five on weekdays.',
      expect.stringMatching(/^caller:interrupted:We are/),
      'caller:said:And on Sunday?',
      'agent:said:Closed on Sunday. Press 1 to get a text.',
      'caller:digits:1',
      'caller:said:Thank you.',
      'agent:said:Done. Goodbye.',
    ]);
    // The sandbox's side: what the caller heard and said, in the same order.
    const heard = (await server.sandbox()).relayTranscript(callSid).map((e) => `${e.from}:${e.kind}`);
    expect(heard.filter((k) => k !== 'caller:end')).toEqual(expect.arrayContaining(['agent:greeting', 'caller:prompt', 'agent:text', 'caller:interrupt', 'caller:dtmf']));
  });

  it('two conversations at once keep their turns apart', async () => {
    const server = await start({}, VOICE);
    const [a, b] = ['+14155550964', '+14155550965'];
    await server.callTool('script_caller', { to: a, turns: [{ say: 'I am caller A' }, { hangup: true }] });
    await server.callTool('script_caller', { to: b, turns: [{ say: 'I am caller B' }, { hangup: true }] });
    const [ca, cb] = await Promise.all([a, b].map(async (to) => (await server.callTool('start_voice_conversation', { to, greeting: 'Hello', purpose: `talk to ${to}` })).json.call_sid));
    const [ta, tb] = await Promise.all([turn(server, ca), turn(server, cb)]);
    expect(ta).toMatchObject({ kind: 'said', text: 'I am caller A' });
    expect(tb).toMatchObject({ kind: 'said', text: 'I am caller B' });
    await Promise.all([
      server.callTool('say_on_call', { call_sid: ca, text: 'Bye A' }),
      server.callTool('say_on_call', { call_sid: cb, text: 'Bye B' }),
    ]);
    const [ea, eb] = await Promise.all([turn(server, ca), turn(server, cb)]);
    expect([ea.kind, eb.kind]).toEqual(['ended', 'ended']);
    const heardA = (await server.sandbox()).relayTranscript(ca).filter((e) => e.kind === 'text').map((e) => e.text);
    const heardB = (await server.sandbox()).relayTranscript(cb).filter((e) => e.kind === 'text').map((e) => e.text);
    expect(heardA).toEqual(['Bye A']);
    expect(heardB).toEqual(['Bye B']);
  });

  it('a conversation is a call: it passes every call guard, and a do-not-call number is never rung', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550962';
    await server.callTool('add_opt_out', { recipient: to, channel: 'voice' });
    const reached = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('start_voice_conversation', { to, greeting: 'Hi', purpose: 'test' });
      expect(result.json.rule).toBe('do_not_call');
    });
    expect(reached).toBe(0);
  });

  it('an agent that does not answer hears the filler, then the call ends politely', async () => {
    const server = await start({ TWILIO_MCP_RELAY_FILLER_MS: '200', TWILIO_MCP_RELAY_GIVE_UP_MS: '600' }, VOICE);
    const to = '+14155550963';
    await server.callTool('script_caller', { to, turns: [{ say: 'Hello?' }] });
    const started = await server.callTool('start_voice_conversation', { to, greeting: 'Hi there.', purpose: 'silence test' });
    const callSid = started.json.call_sid;
    expect(await turn(server, callSid)).toMatchObject({ kind: 'said', text: 'Hello?' });
    // No say_on_call: the server fills, then gives up.
    expect(await turn(server, callSid)).toMatchObject({ kind: 'ended', outcome: 'timed_out' });
    const call = await server.callTool('get_call', { sid: callSid });
    const kinds = call.json.conversation.transcript.map((t: { speaker: string; kind: string }) => `${t.speaker}:${t.kind}`);
    expect(kinds).toEqual(expect.arrayContaining(['server:filler', 'server:said', 'server:ended']));
  });
});
