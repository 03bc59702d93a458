/**
 * The ConversationRelay socket: only a signed handshake for a session this server opened is
 * upgraded; unsigned, forged and unknown ones are refused before any socket exists. Frames
 * from a real session reach the handler; malformed ones are parsed as nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseRelayFrame } from '../../src/domain/conversation-relay.js';
import { createRelayUpgrader } from '../../src/webhooks/relay-socket.js';

const TOKEN = '12345678901234567890123456789012';
const PUBLIC = 'https://hooks.example.com/base';
const SESSION = '0b1e4c2a-1111-4222-8333-444455556666';
let server: Server;
let port: number;
const connected: string[] = [];

beforeAll(async () => {
  const upgrade = createRelayUpgrader({
    publicBaseUrl: () => PUBLIC,
    authTokens: async () => [TOKEN],
    verifySignatures: true,
    expects: (session) => session === SESSION,
    connected: (session, socket) => {
      connected.push(session);
      socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
    },
  });
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!upgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function open(session: string, signature?: string): Promise<{ status: number } | { socket: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/webhooks/twilio/relay/${session}`, { headers: signature ? { 'x-twilio-signature': signature } : {} });
    ws.once('open', () => resolve({ socket: ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}

const signed = (session: string, url = `wss://hooks.example.com/base/webhooks/twilio/relay/${session}`) => twilio.getExpectedTwilioSignature(TOKEN, url, {});

describe('relay handshake', () => {
  it('a handshake signed over the wss URL opens the session, and frames flow', async () => {
    const before = connected.length;
    const result = await open(SESSION, signed(SESSION));
    expect('socket' in result).toBe(true);
    const socket = (result as { socket: WebSocket }).socket;
    const reply = await new Promise<string>((resolve) => {
      socket.once('message', (data) => resolve(data.toString()));
      socket.send('{"type":"prompt","voicePrompt":"hi","last":true}');
    });
    expect(reply).toBe('echo:{"type":"prompt","voicePrompt":"hi","last":true}');
    expect(connected.length).toBe(before + 1);
    socket.close();
  });

  it('unsigned and forged handshakes are refused with 403; an unknown session with 404; none reaches the handler', async () => {
    const before = connected.length;
    expect(await open(SESSION)).toEqual({ status: 403 });
    expect(await open(SESSION, 'Zm9yZ2Vk')).toEqual({ status: 403 });
    expect(await open(SESSION, twilio.getExpectedTwilioSignature('another-token-another-token-1234', `wss://hooks.example.com/base/webhooks/twilio/relay/${SESSION}`, {}))).toEqual({ status: 403 });
    const other = '0b1e4c2a-9999-4222-8333-444455556666';
    expect(await open(other, signed(other))).toEqual({ status: 404 });
    expect(connected.length).toBe(before);
  });
});

describe('relay frames', () => {
  it('parses the documented messages and nothing else', () => {
    expect(parseRelayFrame('{"type":"prompt","voicePrompt":"Hello","lang":"en-US","last":true}')).toEqual({ type: 'prompt', voicePrompt: 'Hello', lang: 'en-US', last: true });
    expect(parseRelayFrame('{"type":"dtmf","digit":"5"}')).toEqual({ type: 'dtmf', digit: '5' });
    expect(parseRelayFrame('{"type":"interrupt","utteranceUntilInterrupt":"We are","durationUntilInterruptMs":800}')).toMatchObject({ type: 'interrupt', utteranceUntilInterrupt: 'We are' });
    expect(parseRelayFrame('{"type":"setup","sessionId":"VX1","callSid":"CA1","from":"+1","to":"+2","customParameters":{"a":"b","n":1}}')).toMatchObject({ type: 'setup', callSid: 'CA1', customParameters: { a: 'b' } });
    for (const bad of ['not json', '[]', 'null', '{"type":"prompt"}', '{"type":"dtmf","digit":"55"}', '{"type":"setup"}', '{"type":"shout"}']) expect(parseRelayFrame(bad), bad).toBeUndefined();
  });
});
