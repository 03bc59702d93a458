/**
 * Relay socket and voice-route behaviour the focused Stryker run left unheld: the handshake
 * signed over the https twin of the URL, a public URL with trailing slashes or none at all,
 * verification off, the frame size limit, a failing session lookup, which paths the upgrader
 * claims, what the operator reads in the log; a voice path must start at the route root.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import twilio from 'twilio';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { log } from '../../src/util/log.js';
import { createRelayUpgrader, type RelaySocketOptions } from '../../src/webhooks/relay-socket.js';
import { parseVoiceRoute } from '../../src/webhooks/voice-routes.js';

const TOKEN = '12345678901234567890123456789012';
const SESSION = '0b1e4c2a-1111-4222-8333-444455556666';
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function relay(overrides: Partial<RelaySocketOptions> = {}) {
  const connected: string[] = [];
  const upgrade = createRelayUpgrader({
    publicBaseUrl: () => 'https://news.example.com/base',
    authTokens: async () => [TOKEN],
    verifySignatures: true,
    expects: (session) => session === SESSION,
    connected: (session, socket) => {
      connected.push(session);
      socket.on('error', () => {}); // as the relay service does: an oversized frame is an error event
      socket.on('message', (data) => socket.send(`echo:${data.toString().length}`));
    },
    ...overrides,
  });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!upgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, connected };
}

type Opened = { socket: WebSocket } | { status: number; reason: string } | { error: string };
function open(port: number, session: string, signature?: string): Promise<Opened> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/webhooks/twilio/relay/${session}`, { headers: signature ? { 'x-twilio-signature': signature } : {} });
    const timer = setTimeout(() => (ws.terminate(), resolve({ error: 'no answer' })), 3000);
    ws.once('open', () => (clearTimeout(timer), resolve({ socket: ws })));
    ws.once('unexpected-response', (_req, res) => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '' })));
    ws.once('error', (error) => (clearTimeout(timer), resolve({ error: error.message })));
  });
}
const signedFor = (url: string) => twilio.getExpectedTwilioSignature(TOKEN, url, {});

describe('relay handshake', () => {
  it('accepts a handshake signed over the https twin of the socket URL (a host with "ws" in its name too)', async () => {
    const { port, connected } = await relay();
    const result = await open(port, SESSION, signedFor(`https://news.example.com/base/webhooks/twilio/relay/${SESSION}`));
    expect('socket' in result).toBe(true);
    (result as { socket: WebSocket }).socket.close();
    expect(connected).toEqual([SESSION]);
  });

  it('a public URL with trailing slashes is used without them', async () => {
    const { port } = await relay({ publicBaseUrl: () => 'https://news.example.com/base//' });
    const result = await open(port, SESSION, signedFor(`wss://news.example.com/base/webhooks/twilio/relay/${SESSION}`));
    expect('socket' in result).toBe(true);
    (result as { socket: WebSocket }).socket.close();
  });

  it('refuses with 403 Forbidden while no public URL is configured, and logs why', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const { port, connected } = await relay({ publicBaseUrl: () => undefined });
    expect(await open(port, SESSION, signedFor(`wss://news.example.com/base/webhooks/twilio/relay/${SESSION}`))).toEqual({ status: 403, reason: 'Forbidden' });
    expect(await open(port, SESSION)).toEqual({ status: 403, reason: 'Forbidden' });
    expect(connected).toEqual([]);
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      `relay handshake refused (403): its X-Twilio-Signature does not match for /webhooks/twilio/relay/${SESSION}`,
      `relay handshake refused (403): no X-Twilio-Signature for /webhooks/twilio/relay/${SESSION}`,
    ]);
  });

  it('with verification off (local development) an unsigned handshake for an expected session opens', async () => {
    const { port, connected } = await relay({ verifySignatures: false, publicBaseUrl: () => undefined });
    const result = await open(port, SESSION);
    expect('socket' in result).toBe(true);
    (result as { socket: WebSocket }).socket.close();
    expect(connected).toEqual([SESSION]);
    expect(await open(port, '0b1e4c2a-9999-4222-8333-444455556666')).toEqual({ status: 404, reason: 'Not Found' });
  });

  it('a frame over 64 KiB closes the socket (1009); one under it is delivered', async () => {
    const { port } = await relay();
    const result = await open(port, SESSION, signedFor(`wss://news.example.com/base/webhooks/twilio/relay/${SESSION}`));
    const socket = (result as { socket: WebSocket }).socket;
    const reply = await new Promise<string>((resolve) => {
      socket.once('message', (data) => resolve(data.toString()));
      socket.send('x'.repeat(60 * 1024));
    });
    expect(reply).toBe(`echo:${60 * 1024}`);
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => (socket.terminate(), resolve(-1)), 3000);
      socket.once('close', (c) => (clearTimeout(timer), resolve(c)));
      socket.send('x'.repeat(64 * 1024 + 1));
    });
    expect(code).toBe(1009);
  });

  it('a session lookup that fails closes the connection (no socket, no hang) and is logged', async () => {
    const error = vi.spyOn(log, 'error').mockImplementation(() => {});
    const { port, connected } = await relay({
      expects: async () => {
        throw new Error('store unavailable');
      },
    });
    const result = await open(port, SESSION, signedFor(`wss://news.example.com/base/webhooks/twilio/relay/${SESSION}`));
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).not.toBe('no answer');
    expect(connected).toEqual([]);
    expect(error.mock.calls.map((c) => c[0])).toEqual(['relay handshake: store unavailable']);
  });
});

describe('which upgrades the relay claims', () => {
  /** A socket that records what was written and whether it was destroyed. */
  const fakeSocket = () => {
    const written: string[] = [];
    const socket = new Duplex({ read() {}, write(chunk, _enc, done) { written.push(String(chunk)); done(); } });
    return { socket, written };
  };
  const req = (url: string) => ({ url, headers: {} }) as IncomingMessage;

  it('claims relay paths only; a malformed session is 404 without asking who expects it', () => {
    const expects = vi.fn(() => true);
    const upgrade = createRelayUpgrader({ publicBaseUrl: () => 'https://x.example', authTokens: async () => [TOKEN], verifySignatures: true, expects, connected: () => {} });
    const other = fakeSocket();
    expect(upgrade(req('/mcp'), other.socket, Buffer.alloc(0))).toBe(false);
    expect(other.written).toEqual([]);
    for (const session of ['not-a-session', `${SESSION}0`, `x${SESSION}`, SESSION.toUpperCase()]) {
      const bad = fakeSocket();
      expect(upgrade(req(`/webhooks/twilio/relay/${session}`), bad.socket, Buffer.alloc(0)), session).toBe(true);
      expect(bad.written.join('')).toMatch(/^HTTP\/1\.1 404 Not Found\r\nConnection: close\r\n/);
    }
    expect(expects).not.toHaveBeenCalled();
  });
});

describe('parseVoiceRoute', () => {
  it('a voice path counts only from the start of the path below the webhook prefix', () => {
    expect(parseVoiceRoute('/voice/ivr/flow/step', '')).toEqual({ kind: 'step', flow: 'flow', step: 'step', attempt: 1 });
    expect(parseVoiceRoute('/other/voice/ivr/flow/step', '')).toBeUndefined();
    expect(parseVoiceRoute('/messages/voice/ivr/flow/step/answer', '')).toBeUndefined();
  });
});
