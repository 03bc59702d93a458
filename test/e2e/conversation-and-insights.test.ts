/**
 * Through the server binary over stdio (embedded sandbox, every toolset): a live phone
 * conversation with a scripted caller, a Conversations thread with an SMS participant, a
 * video token, and the day's insights and usage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

let server: Connected;
beforeAll(async () => {
  server = await connectStdio({ args: ['--toolsets', 'all'] });
});
afterAll(async () => {
  await server?.close();
});

describe('over stdio', () => {
  it('holds a live phone conversation turn by turn, and get_call has the transcript', async () => {
    const to = '+14155550941';
    // The caller speaks after the keys: a reply is owed to speech, not to keys, so the agent's
    // last line is heard before the hang-up however slow the agent is (keys then a hang-up
    // would race the agent's answer to the keys).
    expect((await callTool(server.client, 'script_caller', { to, turns: [{ say: 'Is my order ready?' }, { digits: '2' }, { say: 'Great, thanks.' }, { hangup: true }] })).isError).toBe(false);
    const started = await callTool(server.client, 'start_voice_conversation', { to, greeting: 'Hi, this is the shop.', purpose: 'order status' });
    expect(started.isError, JSON.stringify(started.json)).toBe(false);
    const sid = started.json.call_sid;
    const first = await callTool(server.client, 'wait_for_caller', { call_sid: sid, timeout_seconds: 15 });
    expect(first.json.turn).toMatchObject({ kind: 'said', text: 'Is my order ready?' });
    await callTool(server.client, 'say_on_call', { call_sid: sid, text: 'Yes, it is ready. Press 2 to confirm pickup.' });
    expect((await callTool(server.client, 'wait_for_caller', { call_sid: sid, timeout_seconds: 15 })).json.turn).toMatchObject({ kind: 'digits', digits: '2' });
    expect((await callTool(server.client, 'wait_for_caller', { call_sid: sid, timeout_seconds: 15 })).json.turn).toMatchObject({ kind: 'said', text: 'Great, thanks.' });
    const last = await callTool(server.client, 'say_on_call', { call_sid: sid, text: 'Thanks, see you soon.' });
    expect(last.isError, JSON.stringify(last.json)).toBe(false);
    expect((await callTool(server.client, 'wait_for_caller', { call_sid: sid, timeout_seconds: 15 })).json.turn).toMatchObject({ kind: 'ended' });
    const call = await callTool(server.client, 'get_call', { sid });
    expect(call.json.conversation.transcript.filter((t: { speaker: string }) => t.speaker !== 'server').map((t: { speaker: string; text: string }) => `${t.speaker}: ${t.text}`)).toEqual([
      'agent: Hi, this is the shop.',
      'caller: Is my order ready?',
      'agent: Yes, it is ready. Press 2 to confirm pickup.',
      'caller: 2',
      'caller: Great, thanks.',
      'agent: Thanks, see you soon.',
    ]);
  });

  it('posts to a conversation, makes a video token, and answers the day in one insights call', async () => {
    const conversation = (await callTool(server.client, 'manage_conversation', { action: 'create', friendly_name: 'Support' })).json.conversation_sid;
    await callTool(server.client, 'manage_conversation', { action: 'add_participant', conversation, address: '+14155550942' });
    const posted = await callTool(server.client, 'send_conversation_message', { conversation, body: 'We are on it.' });
    expect(posted.json.reaches).toEqual(['+14155550942']);
    await callTool(server.client, 'create_video_room', { unique_name: 'e2e-room' });
    const token = await callTool(server.client, 'create_video_access_token', { identity: 'grace', room: 'e2e-room' });
    expect(token.json.token.split('.')).toHaveLength(3);
    await callTool(server.client, 'send_sms', { to: '+14155550943', body: 'hello' });
    const insights = await callTool(server.client, 'get_messaging_insights', { period: 'today' });
    expect(insights.json.sent).toBeGreaterThanOrEqual(2);
    expect(insights.json.sources.this_server).toBeGreaterThanOrEqual(2);
    const balance = await callTool(server.client, 'get_balance', {});
    expect(balance.json.currency).toBeTruthy();
  });
});
