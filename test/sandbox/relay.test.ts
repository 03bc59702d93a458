/**
 * ConversationRelay: the sandbox plays Twilio's side of the WebSocket against a tiny agent
 * of our own (ws, 127.0.0.1:0) that checks the handshake signature with the official SDK
 * and answers prompts with text tokens. Setup fields, a scripted conversation with its
 * exact transcript, `end` → the Connect action, refused frames, a URL the callback policy
 * refuses, the agent closing, idle hang-up, and two calls at once.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type RelayTranscriptEntry, type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { basicAuth, client, eventually } from './http.js';

// ---------------------------------------------------------------- the agent

interface AgentConnection {
  url: string;
  signatureValid: boolean;
  received: any[];
  socket: WebSocket;
  closed: Promise<{ code: number }>;
}

type Behaviour = (message: any, connection: AgentConnection) => void;

interface Agent {
  url(path: string): string;
  connections: AgentConnection[];
  behave(behaviour: Behaviour): void;
  /** The connection whose setup names this call. */
  forCall(callSid: string): Promise<AgentConnection>;
  close(): Promise<void>;
}

async function startAgent(authToken: string): Promise<Agent> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const connections: AgentConnection[] = [];
  let behaviour: Behaviour = () => undefined;
  server.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const url = `${base}${req.url ?? '/'}`;
    const signature = String(req.headers['x-twilio-signature'] ?? '');
    let closedWith!: (value: { code: number }) => void;
    const connection: AgentConnection = {
      url,
      signatureValid: twilio.validateRequest(authToken, signature, url, {}),
      received: [],
      socket,
      closed: new Promise((resolve) => (closedWith = resolve)),
    };
    connections.push(connection);
    socket.on('close', (code) => closedWith({ code }));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      connection.received.push(message);
      behaviour(message, connection);
    });
  });
  return {
    url: (path) => `${base}${path}`,
    connections,
    behave: (b) => (behaviour = b),
    forCall: (callSid) => eventually(() => connections.find((c) => c.received[0]?.callSid === callSid)),
    close: async () => {
      for (const c of connections) c.socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends a reply as an LLM streams it: one token per frame, the last one marked. */
function reply(connection: AgentConnection, tokens: string[]): void {
  tokens.forEach((token, i) => connection.socket.send(JSON.stringify({ type: 'text', token, last: i === tokens.length - 1 })));
}

const words = (text: string) => text.split(' ').map((w, i, all) => (i < all.length - 1 ? `${w} ` : w));

/** Answers each prompt from a table (anything else: "Sorry?"). */
const answering = (answers: Record<string, string>): Behaviour => (message, connection) => {
  if (message.type === 'prompt') reply(connection, words(answers[message.voicePrompt] ?? 'Sorry?'));
};

const within = <T>(promise: Promise<T>, ms = 5000): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms).unref())]);

const withoutTimes = (entries: RelayTranscriptEntry[]) => entries.map(({ from, kind, text }) => ({ from, kind, text }));

// ---------------------------------------------------------------- the sandbox

let sandbox: SandboxHandle;
let agent: Agent;
let app: Receiver;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  sandbox = await startSandbox({ voiceTiming: { msPerSecond: 5 } });
  agent = await startAgent(sandbox.authToken);
  app = await startReceiver(sandbox.authToken);
  api = client(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
  await agent?.close();
  await app?.close();
});
afterEach(() => agent.behave(() => undefined));

const relayTwiml = (attributes: string, inner = '', after = '') =>
  `<Response><Connect><ConversationRelay ${attributes}>${inner}</ConversationRelay></Connect>${after}</Response>`;

const place = async (to: string, twiml: string) => {
  const { status, json } = await api.call('POST', `${api.root}/Calls.json`, { From: sandbox.testSenderNumber, To: to, Twiml: twiml });
  expect(status, JSON.stringify(json)).toBe(201);
  return json.sid as string;
};

describe('the handshake and the setup message', () => {
  it('connects to the exact URL, signed as Twilio signs it, and sends setup first with the call and its custom parameters', async () => {
    const url = agent.url('/relay/setup?tenant=acme&x=1');
    sandbox.scriptCaller('+14155550601', { relay_turns: [{ hangup: true }] });
    const sid = await place('+14155550601', relayTwiml(`url="${url.replace(/&/g, '&amp;')}"`, '<Parameter name="customer" value="42"/><Parameter name="plan" value="gold"/>'));
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');
    const connection = await agent.forCall(sid);
    expect(connection.url).toBe(url);
    expect(connection.signatureValid).toBe(true);
    const [setup] = connection.received;
    expect(setup).toEqual({
      type: 'setup',
      sessionId: expect.stringMatching(/^VX[0-9a-f]{32}$/),
      accountSid: sandbox.accountSid,
      parentCallSid: '',
      callSid: sid,
      from: sandbox.testSenderNumber,
      to: '+14155550601',
      forwardedFrom: '',
      callType: 'PSTN',
      callerName: '',
      direction: 'outbound-api',
      callStatus: 'IN-PROGRESS',
      customParameters: { customer: '42', plan: 'gold' },
    });
    // The caller hung up at once: the socket is closed normally, nothing else was sent.
    expect(await within(connection.closed)).toEqual({ code: 1000 });
    expect(connection.received).toHaveLength(1);
    expect(sandbox.relayTranscript(sid)).toEqual([]);
  });

  it('a signature over another URL does not validate (the agent check is real)', async () => {
    const sid = await place('+14155550602', relayTwiml(`url="${agent.url('/relay/sig')}"`));
    const connection = await agent.forCall(sid);
    const signature = twilio.getExpectedTwilioSignature(sandbox.authToken, connection.url, {});
    expect(twilio.validateRequest(sandbox.authToken, signature, `${connection.url}?extra=1`, {})).toBe(false);
    await api.call('POST', `${api.root}/Calls/${sid}.json`, { Status: 'completed' });
    expect(await within(connection.closed)).toEqual({ code: 1000 });
  });
});

describe('a scripted conversation', () => {
  it('question, reply, second question interrupted after 2 tokens, a key, hang-up: the exact transcript and the exact frames', async () => {
    agent.behave(
      answering({
        'What are your hours?': 'We open at nine and close at five.',
        'And on Sunday?': 'On Sundays we are closed all day.',
        'Let me press a key.': 'Go ahead.',
      }),
    );
    sandbox.scriptCaller('+14155550610', {
      relay_turns: [
        { say: 'What are your hours?' },
        { say: 'And on Sunday?' },
        { interrupt_after_tokens: 2, say: 'Let me press a key.' },
        { digits: '1' },
        { hangup: true },
      ],
    });
    const sid = await place(
      '+14155550610',
      relayTwiml(`url="${agent.url('/relay/talk')}" welcomeGreeting="Hi, this is Acme." language="en-GB" dtmfDetection="true"`),
    );
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');
    expect(Number(call.duration)).toBeGreaterThan(0);

    const transcript = sandbox.relayTranscript(sid);
    expect(withoutTimes(transcript)).toEqual([
      { from: 'agent', kind: 'greeting', text: 'Hi, this is Acme.' },
      { from: 'caller', kind: 'prompt', text: 'What are your hours?' },
      { from: 'agent', kind: 'text', text: 'We open at nine and close at five.' },
      { from: 'caller', kind: 'prompt', text: 'And on Sunday?' },
      { from: 'agent', kind: 'text', text: 'On Sundays' },
      { from: 'caller', kind: 'interrupt', text: 'On Sundays' },
      { from: 'caller', kind: 'prompt', text: 'Let me press a key.' },
      { from: 'agent', kind: 'text', text: 'Go ahead.' },
      { from: 'caller', kind: 'dtmf', text: '1' },
    ]);
    const times = transcript.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // The greeting is heard before the caller speaks: 4 words at 2.5 words/s.
    expect(transcript[1]!.at - transcript[0]!.at).toBeGreaterThanOrEqual(1.6 - 1e-6);
    // The reply is heard out (8 words) before the next question.
    expect(transcript[3]!.at - transcript[2]!.at).toBeGreaterThanOrEqual(3.2 - 1e-6);

    const connection = await agent.forCall(sid);
    // Everything sent before the close frame has arrived once the socket is closed.
    expect(await within(connection.closed)).toEqual({ code: 1000 });
    expect(connection.received.slice(1)).toEqual([
      { type: 'prompt', voicePrompt: 'What are your hours?', lang: 'en-GB', last: true },
      { type: 'prompt', voicePrompt: 'And on Sunday?', lang: 'en-GB', last: true },
      { type: 'interrupt', utteranceUntilInterrupt: 'On Sundays', durationUntilInterruptMs: 800 },
      { type: 'prompt', voicePrompt: 'Let me press a key.', lang: 'en-GB', last: true },
      { type: 'dtmf', digit: '1' },
    ]);

    // The transcript is in the trace too, between the Connect step and the end.
    const trace = sandbox.callTrace(sid);
    expect(trace.filter((s) => s.relay).map((s) => s.relay)).toEqual(transcript);
    expect(trace.map((s) => s.verb)).toEqual(expect.arrayContaining(['Connect/ConversationRelay', 'ConversationRelay/setup', 'ConversationRelay/hangup', 'Connect/result', 'end']));
  });

  it('a reply that may not be interrupted is heard whole, then the caller speaks; a language message changes the prompts\' lang', async () => {
    agent.behave((message, connection) => {
      if (message.type !== 'prompt') return;
      if (message.voicePrompt === 'Hola') {
        connection.socket.send(JSON.stringify({ type: 'language', ttsLanguage: 'es-ES', transcriptionLanguage: 'es-ES' }));
        reply(connection, words('Hola, un momento.'));
        return;
      }
      words('Please listen to the whole notice.').forEach((token, i, all) => connection.socket.send(JSON.stringify({ type: 'text', token, last: i === all.length - 1, interruptible: false })));
    });
    sandbox.scriptCaller('+14155550613', { relay_turns: [{ say: 'Hi' }, { interrupt_after_tokens: 2, say: 'Hola' }, { silence_seconds: 1 }, { say: 'Gracias' }, { hangup: true }] });
    const sid = await place('+14155550613', relayTwiml(`url="${agent.url('/relay/uninterruptible')}"`));
    await sandbox.waitForCall(sid);
    expect(withoutTimes(sandbox.relayTranscript(sid))).toEqual([
      { from: 'caller', kind: 'prompt', text: 'Hi' },
      { from: 'agent', kind: 'text', text: 'Please listen to the whole notice.' },
      { from: 'caller', kind: 'prompt', text: 'Hola' },
      { from: 'agent', kind: 'text', text: 'Hola, un momento.' },
      { from: 'caller', kind: 'prompt', text: 'Gracias' },
      { from: 'agent', kind: 'text', text: 'Please listen to the whole notice.' },
    ]);
    const connection = await agent.forCall(sid);
    await within(connection.closed);
    expect(connection.received.filter((m) => m.type !== 'setup').map((m) => [m.type, m.lang])).toEqual([
      ['prompt', 'en-US'],
      ['prompt', 'en-US'],
      ['prompt', 'es-ES'],
    ]);
    expect(sandbox.callTrace(sid).find((s) => s.verb === 'ConversationRelay/interrupt')?.note).toMatch(/may not be interrupted/);
  });

  it('keys are not relayed without dtmfDetection="true" (Twilio default)', async () => {
    sandbox.scriptCaller('+14155550611', { relay_turns: [{ digits: '42' }, { hangup: true }] });
    const sid = await place('+14155550611', relayTwiml(`url="${agent.url('/relay/nodtmf')}"`));
    await sandbox.waitForCall(sid);
    const connection = await agent.forCall(sid);
    await within(connection.closed);
    expect(connection.received.map((m) => m.type)).toEqual(['setup']);
    expect(sandbox.callTrace(sid).find((s) => s.verb === 'ConversationRelay/dtmf')?.note).toMatch(/dtmfDetection/);
  });

  it('after the last turn the caller listens, hears plays and digits, and hangs up after 30 s of quiet', async () => {
    agent.behave((message, connection) => {
      if (message.type !== 'prompt') return;
      connection.socket.send(JSON.stringify({ type: 'sendDigits', digits: '9w1' }));
      connection.socket.send(JSON.stringify({ type: 'play', source: 'https://example.com/hold.mp3' }));
      reply(connection, ['One ', 'moment.']);
    });
    sandbox.scriptCaller('+14155550612', { relay_turns: [{ say: 'Hello?' }] });
    const sid = await place('+14155550612', relayTwiml(`url="${agent.url('/relay/idle')}"`));
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');
    expect(withoutTimes(sandbox.relayTranscript(sid))).toEqual([
      { from: 'caller', kind: 'prompt', text: 'Hello?' },
      { from: 'agent', kind: 'digits', text: '9w1' },
      { from: 'agent', kind: 'play', text: '[play https://example.com/hold.mp3]' },
      { from: 'agent', kind: 'text', text: 'One moment.' },
    ]);
    const hangup = sandbox.callTrace(sid).find((s) => s.verb === 'ConversationRelay/hangup')!;
    expect(hangup.note).toMatch(/30 s of quiet/);
    const lastHeard = sandbox.relayTranscript(sid).at(-1)!.at;
    expect(hangup.at - lastHeard).toBeGreaterThanOrEqual(30);
    expect(await within((await agent.forCall(sid)).closed)).toEqual({ code: 1000 });
  });
});

describe('the agent ends the session', () => {
  it('end with handoffData closes the socket and requests the Connect action, signed, with SessionId, SessionStatus and HandoffData; its answer runs', async () => {
    const handoff = JSON.stringify({ reason: 'wants a human', order: 'A-17' });
    agent.behave((message, connection) => {
      if (message.type !== 'prompt') return;
      reply(connection, words('Let me get someone.'));
      connection.socket.send(JSON.stringify({ type: 'end', handoffData: handoff }));
    });
    app.on('/relay/after', '<Response><Say>Transferring you now</Say><Hangup/></Response>');
    sandbox.scriptCaller('+14155550620', { relay_turns: [{ say: 'I want a human.' }, { say: 'never said' }] });
    const twiml = `<Response><Connect action="${app.to('/relay/after')}"><ConversationRelay url="${agent.url('/relay/end')}"/></Connect><Say>not reached</Say></Response>`;
    const sid = await place('+14155550620', twiml);
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');

    const connection = await agent.forCall(sid);
    expect(await within(connection.closed)).toEqual({ code: 1000 });
    const [after] = app.at('/relay/after');
    expect(after).toMatchObject({ method: 'POST', signatureValid: true });
    expect(after!.params).toMatchObject({
      CallSid: sid,
      AccountSid: sandbox.accountSid,
      CallStatus: 'in-progress',
      SessionId: connection.received[0].sessionId,
      SessionStatus: 'completed',
      HandoffData: handoff,
    });
    expect(Number(after!.params.SessionDuration)).toBeGreaterThanOrEqual(0);
    expect(withoutTimes(sandbox.relayTranscript(sid))).toEqual([
      { from: 'caller', kind: 'prompt', text: 'I want a human.' },
      { from: 'agent', kind: 'text', text: 'Let me get someone.' },
      { from: 'agent', kind: 'end', text: handoff },
    ]);
    const says = sandbox.callTrace(sid).filter((s) => s.verb === 'Say').map((s) => s.text);
    expect(says).toEqual(['Transferring you now']);
  });

  it('without an action, the walk goes on after <Connect>', async () => {
    agent.behave((message, connection) => {
      if (message.type === 'prompt') connection.socket.send(JSON.stringify({ type: 'end' }));
    });
    sandbox.scriptCaller('+14155550621', { relay_turns: [{ say: 'Bye.' }] });
    const sid = await place('+14155550621', relayTwiml(`url="${agent.url('/relay/end2')}"`, '', '<Say>After the relay</Say>'));
    await sandbox.waitForCall(sid);
    expect(sandbox.callTrace(sid).filter((s) => s.verb === 'Say').map((s) => s.text)).toEqual(['After the relay']);
    expect(withoutTimes(sandbox.relayTranscript(sid)).at(-1)).toEqual({ from: 'agent', kind: 'end', text: '' });
  });

  it('the agent closing the socket ends the call (64105)', async () => {
    agent.behave((message, connection) => {
      if (message.type === 'prompt') connection.socket.close(4000, 'bye');
    });
    sandbox.scriptCaller('+14155550622', { relay_turns: [{ say: 'Hello?' }, { say: 'Anyone?' }] });
    const sid = await place('+14155550622', relayTwiml(`url="${agent.url('/relay/close')}"`, '', '<Say>not reached</Say>'));
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');
    const error = sandbox.callTrace(sid).find((s) => s.verb === 'error');
    expect(error?.error).toMatchObject({ code: 64105 });
    expect(error?.error?.message).toMatch(/4000, bye/);
    expect(sandbox.callTrace(sid).some((s) => s.verb === 'Say')).toBe(false);
    expect(withoutTimes(sandbox.relayTranscript(sid))).toEqual([{ from: 'caller', kind: 'prompt', text: 'Hello?' }]);
  });
});

describe('frames the sandbox cannot act on', () => {
  it('malformed JSON and unknown types are recorded (64107), answered with an error message, and ignored', async () => {
    agent.behave((message, connection) => {
      if (message.type !== 'prompt') return;
      connection.socket.send('this is {not json');
      connection.socket.send(JSON.stringify({ type: 'dance' }));
      connection.socket.send(JSON.stringify({ type: 'text', last: true }));
      reply(connection, words('Still here.'));
    });
    sandbox.scriptCaller('+14155550630', { relay_turns: [{ say: 'Are you there?' }, { hangup: true }] });
    const sid = await place('+14155550630', relayTwiml(`url="${agent.url('/relay/bad')}"`));
    const call = await sandbox.waitForCall(sid);
    expect(call.status).toBe('completed');
    const transcript = withoutTimes(sandbox.relayTranscript(sid));
    expect(transcript.map((e) => [e.from, e.kind])).toEqual([
      ['caller', 'prompt'],
      ['agent', 'error'],
      ['agent', 'error'],
      ['agent', 'error'],
      ['agent', 'text'],
    ]);
    expect(transcript[1]!.text).toBe('Invalid message received: this is {not json (not JSON)');
    expect(transcript[2]!.text).toMatch(/unknown type dance/);
    expect(transcript[3]!.text).toMatch(/string token/);
    expect(transcript[4]!.text).toBe('Still here.');
    expect(sandbox.callTrace(sid).filter((s) => s.error?.code === 64107)).toHaveLength(3);
    const connection = await agent.forCall(sid);
    await within(connection.closed);
    expect(connection.received.filter((m) => m.type === 'error').map((m) => m.description)).toEqual([transcript[1]!.text, transcript[2]!.text, transcript[3]!.text]);
  });
});

describe('the callback policy', () => {
  let guarded: SandboxHandle;
  let guardedAgent: Agent;
  beforeAll(async () => {
    guarded = await startSandbox({ voiceTiming: { msPerSecond: 5 }, callbackPolicy: { isOwnReceiver: () => false } });
    guardedAgent = await startAgent(guarded.authToken);
  });
  afterAll(async () => {
    await guarded?.close();
    await guardedAgent?.close();
  });

  it.each([
    ['a loopback ws:// URL', () => guardedAgent.url('/relay/guarded'), /loopback/],
    ['localhost over wss://', () => 'wss://localhost:9/relay', /loopback/],
    ['an https:// URL', () => 'https://example.com/relay', /ws:\/\/ and wss:\/\/ URLs only/],
  ])('%s is never connected: the call ends and the trace says why', async (_name, url, why) => {
    guarded.scriptCaller('+14155550640', { relay_turns: [{ say: 'Hello?' }] });
    const g = client(guarded);
    const { json } = await g.call('POST', `${g.root}/Calls.json`, { From: guarded.testSenderNumber, To: '+14155550640', Twiml: relayTwiml(`url="${url()}"`, '', '<Say>not reached</Say>') });
    const call = await guarded.waitForCall(json.sid);
    expect(call.status).toBe('completed');
    const error = guarded.callTrace(json.sid).find((s) => s.verb === 'error');
    expect(error?.error?.code).toBe(64102);
    expect(error?.error?.message).toMatch(why);
    expect(guarded.callTrace(json.sid).some((s) => s.verb === 'ConversationRelay/setup' || s.verb === 'Say')).toBe(false);
    expect(guardedAgent.connections).toHaveLength(0);
  });

  it('an agent that is not there is 64102 too, and the Connect action hears SessionStatus=failed', async () => {
    app.on('/relay/failed', '<Response><Say>Sorry, try later</Say></Response>');
    sandbox.scriptCaller('+14155550641', { relay_turns: [{ say: 'Hello?' }] });
    const sid = await place('+14155550641', `<Response><Connect action="${app.to('/relay/failed')}"><ConversationRelay url="ws://127.0.0.1:9/nobody"/></Connect></Response>`);
    await sandbox.waitForCall(sid);
    const [failed] = app.at('/relay/failed');
    expect(failed!.params).toMatchObject({ SessionStatus: 'failed', ErrorCode: '64102', SessionId: expect.stringMatching(/^VX/) });
    expect(sandbox.callTrace(sid).filter((s) => s.verb === 'Say').map((s) => s.text)).toEqual(['Sorry, try later']);
  });
});

describe('scripts', () => {
  it('a bad relay turn over the admin route is refused whole (400/20001) and the previous script stays', async () => {
    sandbox.scriptCaller('+14155550650', { relay_turns: [{ say: 'The good script.' }, { hangup: true }] });
    const post = (script: unknown) =>
      fetch(`${sandbox.baseUrl}/__sandbox/callers`, {
        method: 'POST',
        headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/json' },
        body: JSON.stringify({ number: '+14155550650', script }),
      });
    for (const bad of [
      { relay_turns: [{ say: 'fine' }, { say: 'two kinds', digits: '1' }] },
      { relay_turns: [{ interrupt_after_tokens: 0 }] },
      { relay_turns: [{ digits: '12a' }] },
      { relay_turns: [{ hangup: false }] },
      { relay_turns: [{ silence_seconds: -1 }] },
      { relay_turns: [{ shout: 'hey' }] },
      { relay_turns: 'say hello' },
    ]) {
      const response = await post(bad);
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(((await response.json()) as { code: number }).code).toBe(20001);
    }
    agent.behave(answering({}));
    const sid = await place('+14155550650', relayTwiml(`url="${agent.url('/relay/script')}"`));
    await sandbox.waitForCall(sid);
    expect(withoutTimes(sandbox.relayTranscript(sid))[0]).toEqual({ from: 'caller', kind: 'prompt', text: 'The good script.' });

    expect((await post({ relay_turns: [{ interrupt_after_tokens: 3, say: 'wait' }, { silence_seconds: 2 }, { digits: '*#' }, { hangup: true }] })).status).toBe(204);
  });

  it('the handle refuses a bad script for an inbound call', async () => {
    await expect(sandbox.simulateInboundCall({ from: '+14155550651', script: { relay_turns: [{ say: '' }] } })).rejects.toMatchObject({ code: 20001 });
  });
});

describe('two calls at once', () => {
  it('an outbound and an inbound call, each with its own socket, session and transcript', async () => {
    agent.behave((message, connection) => {
      if (message.type === 'prompt') reply(connection, words(`You said: ${message.voicePrompt}`));
    });
    const url = agent.url('/relay/both');
    app.on('/relay/voice', relayTwiml(`url="${url}"`));
    sandbox.configureNumber({ voiceUrl: app.to('/relay/voice') });
    sandbox.scriptCaller('+14155550660', { relay_turns: [{ say: 'I am the outbound callee.' }, { say: 'Outbound again.' }, { hangup: true }] });
    const [outbound, inbound] = await Promise.all([
      place('+14155550660', relayTwiml(`url="${url}"`)),
      sandbox.simulateInboundCall({ from: '+14155550661', script: { relay_turns: [{ say: 'I am the inbound caller.' }, { hangup: true }] } }).then((r) => r.callSid),
    ]);
    await Promise.all([sandbox.waitForCall(outbound), sandbox.waitForCall(inbound)]);
    expect(withoutTimes(sandbox.relayTranscript(outbound))).toEqual([
      { from: 'caller', kind: 'prompt', text: 'I am the outbound callee.' },
      { from: 'agent', kind: 'text', text: 'You said: I am the outbound callee.' },
      { from: 'caller', kind: 'prompt', text: 'Outbound again.' },
      { from: 'agent', kind: 'text', text: 'You said: Outbound again.' },
    ]);
    expect(withoutTimes(sandbox.relayTranscript(inbound))).toEqual([
      { from: 'caller', kind: 'prompt', text: 'I am the inbound caller.' },
      { from: 'agent', kind: 'text', text: 'You said: I am the inbound caller.' },
    ]);
    const [a, b] = await Promise.all([agent.forCall(outbound), agent.forCall(inbound)]);
    expect(a).not.toBe(b);
    expect(a.received[0].sessionId).not.toBe(b.received[0].sessionId);
    expect(b.received[0]).toMatchObject({ direction: 'inbound', from: '+14155550661', to: sandbox.testSenderNumber });
    expect(a.received.filter((m) => m.type === 'prompt').map((m) => m.voicePrompt)).toEqual(['I am the outbound callee.', 'Outbound again.']);
    expect(b.received.filter((m) => m.type === 'prompt').map((m) => m.voicePrompt)).toEqual(['I am the inbound caller.']);
    sandbox.configureNumber({ voiceUrl: null });
  });
});

describe('closing the sandbox', () => {
  it('closes a session in progress with 1001 and does not wait for it', async () => {
    const own = await startSandbox({ voiceTiming: { msPerSecond: 5 } });
    const ownAgent = await startAgent(own.authToken);
    try {
      own.scriptCaller('+14155550670', { relay_turns: [{ say: 'Is anyone there?' }] });
      const c = client(own);
      const { json } = await c.call('POST', `${c.root}/Calls.json`, { From: own.testSenderNumber, To: '+14155550670', Twiml: relayTwiml(`url="${ownAgent.url('/relay/closing')}"`) });
      const connection = await ownAgent.forCall(json.sid);
      await eventually(() => connection.received.find((m) => m.type === 'prompt'));
      await within(own.close(), 2000);
      expect(await within(connection.closed)).toEqual({ code: 1001 });
    } finally {
      await ownAgent.close();
    }
  });
});
