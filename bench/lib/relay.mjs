/**
 * ConversationRelay: what the server adds to a live call's turn, over 200 turns on a real
 * socket (loopback), with the real relay service, socket upgrader (signature checked) and
 * SQLite store; only the call placement is stubbed (no Twilio in the loop):
 *  - caller → agent: from the caller's final `prompt` frame leaving the socket to
 *    wait_for_caller's answer (the turn is written to the store before it is handed over);
 *  - agent → caller: from say_on_call to the first `text` frame arriving on the socket.
 * Baseline in the same run: a bare WebSocket echo on the same loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { RelayService } from '../../dist/services/relay.js';
import { openStoreInDir } from '../../dist/store/sqlite-store.js';
import { createRelayUpgrader } from '../../dist/webhooks/relay-socket.js';
import { computeSignature } from '../../dist/webhooks/signature.js';

const TOKEN = 'bench-token-bench-token-bench-12';
const once = (socket, event) => new Promise((resolve) => socket.once(event, resolve));

export async function measureRelay(turns = 200) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-relay-'));
  const store = openStoreInDir(dir);
  let base;
  const voice = { makeCall: async () => ({ call_sid: `CA${'b'.repeat(32)}`, status: 'queued', from: '+15005550006', to: '+14155550100', direction: 'outbound-api', date_created: null, what_happens: 'Calls', estimated_cost_usd: 0, estimated_minutes: 1 }) };
  const relay = new RelayService(async () => store, voice, async () => base, { fillerAfterMs: 60_000, fillerText: '', giveUpAfterMs: 120_000, giveUpText: '' });
  const upgrade = createRelayUpgrader({ publicBaseUrl: () => base?.replace(/\/webhooks\/twilio$/, ''), authTokens: async () => [TOKEN], verifySignatures: true, expects: relay.expects, connected: relay.connected });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!upgrade(req, socket, head)) socket.destroy();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  base = `http://127.0.0.1:${port}/webhooks/twilio`;
  const progress = async () => {};
  try {
    const started = await relay.start({ to: '+14155550100', greeting: 'Hello', purpose: 'bench' });
    const url = `ws://127.0.0.1:${port}/webhooks/twilio/relay/${started.session_id}`;
    const client = new WebSocket(url, { headers: { 'x-twilio-signature': computeSignature(TOKEN, url, {}) } });
    await once(client, 'open');
    const frames = [];
    let onFrame;
    client.on('message', (data) => (onFrame ? onFrame(data) : frames.push(data)));
    client.send(JSON.stringify({ type: 'setup', sessionId: 'VX1', callSid: started.call_sid, from: '+14155550100', to: '+15005550006', customParameters: {} }));
    const inbound = [];
    const outbound = [];
    for (let i = 0; i < turns + 20; i++) {
      let t0 = performance.now();
      client.send(JSON.stringify({ type: 'prompt', voicePrompt: `question ${i}`, lang: 'en-US', last: true }));
      const turn = await relay.waitForCaller({ call_sid: started.call_sid, timeout_seconds: 10 }, progress);
      const a = performance.now() - t0;
      if (turn.turn?.kind !== 'said') throw new Error(`relay bench: unexpected turn ${JSON.stringify(turn)}`);
      const arrived = new Promise((resolve) => (onFrame = () => resolve(performance.now())));
      t0 = performance.now();
      await relay.say({ call_sid: started.call_sid, text: `answer ${i}` });
      const b = (await arrived) - t0;
      onFrame = undefined;
      if (i >= 20) {
        inbound.push(a);
        outbound.push(b);
      }
    }
    client.close();
    return { inbound, outbound, baseline: await echoBaseline(turns) };
  } finally {
    await relay.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bare WebSocket echo round trip on loopback: what the wire alone costs. */
async function echoBaseline(turns) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  await once(client, 'open');
  const samples = [];
  for (let i = 0; i < turns + 20; i++) {
    const t0 = performance.now();
    const back = once(client, 'message');
    client.send(JSON.stringify({ type: 'prompt', voicePrompt: `question ${i}`, last: true }));
    await back;
    if (i >= 20) samples.push(performance.now() - t0);
  }
  client.close();
  await new Promise((resolve) => wss.close(resolve));
  return samples;
}
