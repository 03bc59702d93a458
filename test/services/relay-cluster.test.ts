/**
 * A live conversation across two instances (RelayService.attachCluster): the agent started
 * it on A, Twilio's socket reached B through the load balancer. B accepts the socket for a
 * session it did not open, forwards every caller frame to A in order, and sends A's answer
 * to the caller; the caller hanging up on B ends the conversation on A. The link here is an
 * in-memory stand-in for LISTEN/NOTIFY (pg-notify.ts has its own test), and the two services
 * share one store as two instances share one database.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RELAY_CONFIG, RelayService, type RelayLink } from '../../src/services/relay.js';
import type { VoiceService } from '../../src/services/voice.js';
import { tempStores } from '../helpers/temp-store.js';

const stores = tempStores('mcp-twilio-relay-cluster-');

/** Delivers every publish to the other instances' subscribers, asynchronously, in order. */
function memoryCluster() {
  const members = new Map<string, Map<string, Set<(payload: unknown, from: string) => void>>>();
  let chain = Promise.resolve();
  return (id: string): RelayLink => {
    const topics = new Map<string, Set<(payload: unknown, from: string) => void>>();
    members.set(id, topics);
    return {
      publish: async (topic, payload) => {
        const copy = JSON.parse(JSON.stringify(payload)) as unknown;
        chain = chain.then(async () => {
          await new Promise((resolve) => setImmediate(resolve));
          for (const [other, theirs] of members) if (other !== id) for (const l of theirs.get(topic) ?? []) l(copy, id);
        });
        await chain;
      },
      subscribe: (topic, listener) => {
        let set = topics.get(topic);
        if (!set) topics.set(topic, (set = new Set()));
        set.add(listener);
        return () => set!.delete(listener);
      },
    };
  };
}

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  readonly sent: Array<Record<string, unknown>> = [];
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.emit('close');
  }
  frame(frame: Record<string, unknown>) {
    this.emit('message', Buffer.from(JSON.stringify(frame)), false);
  }
}

const voice = { makeCall: async () => ({ call_sid: 'CA00000000000000000000000000000001', what_happens: 'Twilio calls; it runs the TwiML you gave.' }) } as unknown as VoiceService;
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

describe('a live conversation across instances', () => {
  it("B takes Twilio's socket for A's session; turns reach A's wait_for_caller, A's answer reaches the caller in order, a hang-up on B ends it on A", async () => {
    const store = stores.open(stores.freshFile());
    const join = memoryCluster();
    const base = async () => 'https://hooks.example.com/webhooks/twilio';
    const a = new RelayService(async () => store, voice, base, DEFAULT_RELAY_CONFIG);
    const b = new RelayService(async () => store, voice, base, DEFAULT_RELAY_CONFIG);
    const c = new RelayService(async () => store, voice, base, DEFAULT_RELAY_CONFIG);
    a.attachCluster(join('a'));
    b.attachCluster(join('b'));
    c.attachCluster(join('c'));
    const started = await a.start({ to: '+14155550101', greeting: 'Hello, this is the clinic.', purpose: 'reschedule' });
    const session = started.session_id;
    const callSid = started.call_sid!;

    expect(await b.expects(session)).toBe(true);
    expect(await b.expects('00000000-0000-0000-0000-000000000000')).toBe(false);
    const socket = new FakeSocket();
    b.connected(session, socket as never);
    expect(await b.expects(session)).toBe(false); // one socket per session
    socket.frame({ type: 'setup', sessionId: 'VX1', callSid, from: '+15005550006', to: '+14155550101' });
    socket.frame({ type: 'prompt', voicePrompt: 'Can we move it to Friday?', lang: 'en-US', last: true });
    socket.frame({ type: 'dtmf', digit: '3' });

    const noop = async () => {};
    const first = await a.waitForCaller({ call_sid: callSid, timeout_seconds: 5 }, noop);
    expect(first.turn).toEqual({ kind: 'said', text: 'Can we move it to Friday?', lang: 'en-US' });
    const second = await a.waitForCaller({ call_sid: callSid, timeout_seconds: 5 }, noop);
    expect(second.turn).toEqual({ kind: 'digits', digits: '3' });

    await a.say({ call_sid: callSid, text: 'Friday at ten works.' });
    await until(() => socket.sent.length === 4);
    expect(socket.sent.map((f) => f.token)).toEqual(['Friday ', 'at ', 'ten ', 'works.']);
    expect(socket.sent.map((f) => f.last)).toEqual([false, false, false, true]);

    socket.close();
    const ended = await a.waitForCaller({ call_sid: callSid, timeout_seconds: 5 }, noop);
    expect(ended.turn).toEqual({ kind: 'ended', outcome: 'caller_hung_up' });
    const transcript = (await store.listTranscript(session)).map((e) => `${e.speaker}:${e.kind}:${e.text}`);
    expect(transcript).toEqual([
      'agent:said:Hello, this is the clinic.',
      'caller:said:Can we move it to Friday?',
      'caller:digits:3',
      'agent:said:Friday at ten works.',
      'server:ended:caller_hung_up',
    ]);
    // The session is over: no instance takes a socket for it again.
    expect(await c.expects(session)).toBe(false);
  });

  it('without a cluster, a socket for a session this instance did not open is refused', async () => {
    const store = stores.open(stores.freshFile());
    const a = new RelayService(async () => store, voice, async () => 'https://hooks.example.com/webhooks/twilio', DEFAULT_RELAY_CONFIG);
    const lone = new RelayService(async () => store, voice, async () => 'https://hooks.example.com/webhooks/twilio', DEFAULT_RELAY_CONFIG);
    const started = await a.start({ to: '+14155550102', greeting: 'Hi', purpose: 'x' });
    expect(await lone.expects(started.session_id)).toBe(false);
    const socket = new FakeSocket();
    lone.connected(started.session_id, socket as never);
    expect(socket.readyState).toBe(3);
  });
});
