/**
 * Conversations and Video through the real server on the embedded sandbox: a conversation
 * message reaches its SMS participant through every send guard (counted at the sandbox), a
 * participant's reply lands in the inbox (wait_for_reply works), and a video token is a
 * JWT for one identity and room, signed with the sandbox's API key.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, reachedSandbox } from '../helpers/in-process.js';

const start = appPerTest();
const ALL = { toolsets: 'all' };

describe('conversations', () => {
  it('a message reaches the SMS participant through the send pipeline; an opted-out participant blocks it', async () => {
    const server = await start({}, ALL);
    const created = await server.callTool('manage_conversation', { action: 'create', friendly_name: 'Order 42' });
    expect(created.isError, created.text).toBe(false);
    const conversation = created.json.conversation_sid;
    const person = '+14155550981';
    const joined = await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: person });
    expect(joined.json).toMatchObject({ address: person, proxy_address: '+15005550006' });
    const reached = await reachedSandbox(server, person, async () => {
      const sent = await server.callTool('send_conversation_message', { conversation, body: 'Your order shipped.' });
      expect(sent.isError, sent.text).toBe(false);
      expect(sent.json.reaches).toEqual([person]);
    });
    expect(reached).toBe(1);
    const audit = await server.callTool('get_audit_log', { tool: 'send_conversation_message', limit: 2 });
    expect(audit.json.entries[0]).toMatchObject({ outcome: 'sent' });

    await server.callTool('add_opt_out', { recipient: person, channel: 'sms' });
    const refused = await reachedSandbox(server, person, async () => {
      const sent = await server.callTool('send_conversation_message', { conversation, body: 'Another update.' });
      expect(sent.json.rule).toBe('opt_out');
    });
    expect(refused).toBe(0);
    const messages = await server.callTool('list_conversation_messages', { conversation });
    expect(messages.json.messages.map((m: { body: string }) => m.body)).toEqual(['Your order shipped.']);
    expect(messages.json.untrusted).toBe(true);
  });

  it("a participant's reply arrives through the signed Conversations webhook and wait_for_reply returns it", async () => {
    const server = await start({}, ALL);
    const conversation = (await server.callTool('manage_conversation', { action: 'create' })).json.conversation_sid;
    const person = '+14155550982';
    await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: person });
    const waiting = server.callTool('wait_for_reply', { from: person, timeout_seconds: 10 });
    await (await server.sandbox()).simulateConversationInbound({ from: person, proxy: '+15005550006', body: 'When will it arrive?' });
    const reply = await waiting;
    expect(reply.isError, reply.text).toBe(false);
    expect(JSON.stringify(reply.json)).toContain('When will it arrive?');
  });
});

describe('simulate_inbound_message into a conversation', () => {
  it("targets the conversation the sender is in, and the reply lands in the inbox; a non-participant is told to join first", async () => {
    const server = await start({}, ALL);
    const conversation = (await server.callTool('manage_conversation', { action: 'create' })).json.conversation_sid;
    const person = '+14155550983';
    await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: person });
    const simulated = await server.callTool('simulate_inbound_message', { from: person, body: 'Hi from the thread', conversation: true });
    expect(simulated.isError, simulated.text).toBe(false);
    expect(simulated.json.stored).toBe(true);
    const inbox = await server.callTool('list_inbound_messages', { from: person });
    expect(JSON.stringify(inbox.json)).toContain('Hi from the thread');
    const messages = await server.callTool('list_conversation_messages', { conversation });
    expect(messages.json.messages.map((m: { body: string }) => m.body)).toContain('Hi from the thread');
    const stranger = await server.callTool('simulate_inbound_message', { from: '+14155550984', body: 'hello?', conversation: true });
    expect(stranger.json.next_step).toMatch(/add_participant/);
  });
});

describe('video', () => {
  it('creates a room, makes a token for one identity and room, lists and ends the room', async () => {
    const server = await start({}, ALL);
    const room = await server.callTool('create_video_room', { unique_name: 'standup' });
    expect(room.isError, room.text).toBe(false);
    const token = await server.callTool('create_video_access_token', { identity: 'ada', room: 'standup', ttl_seconds: 600 });
    expect(token.isError, token.text).toBe(false);
    const [, payload] = token.json.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const apiKey = (await server.sandbox()).apiKey;
    expect(claims.iss).toBe(apiKey.sid);
    expect(claims.grants).toMatchObject({ identity: 'ada', video: { room: 'standup' } });
    expect(claims.exp - claims.iat).toBe(600);
    expect(token.json.note).toMatch(/credential/);
    // Signed with the API key's secret (HS256), so Twilio will accept it.
    const [header, body, signature] = token.json.token.split('.');
    const { createHmac } = await import('node:crypto');
    expect(createHmac('sha256', apiKey.secret).update(`${header}.${body}`).digest('base64url')).toBe(signature);
    await (await server.sandbox()).joinVideoParticipant('standup', 'ada');
    const listed = await server.callTool('list_video_rooms', { include_participants: true });
    expect(listed.json.rooms[0].participants.map((p: { identity: string }) => p.identity)).toEqual(['ada']);
    const ended = await server.callTool('end_video_room', { room: room.json.room_sid });
    expect(ended.json.status).toBe('completed');
  });
});
