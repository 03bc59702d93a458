/**
 * Live phone conversations held by the agent itself, through Twilio ConversationRelay:
 * Twilio turns the caller's speech into text and the agent's text into speech, and this
 * server hosts the socket in between. The agent talks with three tools: start (a call whose
 * TwiML connects to this server), wait for the caller's next turn, say something.
 *
 * Each call has its own queue of caller turns. Every turn — both sides — is written to the
 * store as it happens (a crash loses nothing said). While the agent is thinking the caller
 * hears a short filler after a configurable silence; an agent that does not answer for too
 * long ends the call politely. No MCP types here.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { parseRelayFrame, relayEnd, relayText, type RelayOutbound } from '../domain/conversation-relay.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { Store, TranscriptEntry } from '../store/store.js';
import { lazy } from '../util/lazy.js';
import { log } from '../util/log.js';
import type { VoiceService } from './voice.js';

const twimlBuilder = lazy(() => import('../domain/twiml/build-twiml.js'));
const twimlValidator = lazy(() => import('../domain/twiml/validate-twiml.js'));

export interface RelayConfig {
  /** Silence (ms) after the caller's turn before the caller hears the filler. */
  fillerAfterMs: number;
  fillerText: string;
  /** Without an agent answer for this long (ms) after the caller's turn, the call ends politely. */
  giveUpAfterMs: number;
  giveUpText: string;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  fillerAfterMs: 4000,
  fillerText: 'One moment, please.',
  giveUpAfterMs: 60_000,
  giveUpText: "Sorry, I can't continue this call right now. Goodbye.",
};

/** What the caller did, as wait_for_caller returns it. */
export type CallerTurn =
  | { kind: 'said'; text: string; lang?: string }
  | { kind: 'digits'; digits: string }
  | { kind: 'interrupted'; heard_until_interrupt: string; after_ms: number }
  | { kind: 'ended'; outcome: string };

interface LiveSession {
  sessionId: string;
  callSid: string | null;
  socket: WebSocket | null;
  /** The instance whose receiver holds Twilio's socket, when it is not this one (see attachCluster). */
  remote: string | null;
  /** With a remote socket: its frames are handled, and answers to it sent, one after another, in order. */
  remoteChain: Promise<void>;
  queue: CallerTurn[];
  waiters: Array<(turn: CallerTurn | undefined) => void>;
  ended: string | null;
  agentEnded: boolean;
  timers: NodeJS.Timeout[];
}

export interface StartConversationInput {
  to: string;
  from?: string;
  greeting: string;
  purpose: string;
  language?: string;
  voice?: string;
  interruptible?: 'any' | 'none' | 'dtmf' | 'speech';
  dtmf_detection?: boolean;
}

/** The part of the cluster channel (store/postgres/pg-notify.ts) the relay needs. */
export interface RelayLink {
  publish(topic: string, payload: unknown): Promise<void>;
  subscribe(topic: string, listener: (payload: unknown, from: string) => void): () => void;
}

const FRAME_TOPIC = 'relay_frame';
const CLOSED_TOPIC = 'relay_closed';
const OUT_TOPIC = 'relay_out';

export class RelayService {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly byCall = new Map<string, LiveSession>();
  /** Sockets this instance holds for sessions another instance owns (the agent talks there). */
  private readonly proxies = new Map<string, { socket: WebSocket; chain: Promise<void> }>();
  private link: RelayLink | undefined;

  constructor(
    private readonly store: () => Promise<Store>,
    private readonly voice: VoiceService,
    /** The receiver's public base (…/webhooks/twilio), when Twilio can reach it. */
    private readonly receiverBase: () => Promise<string | undefined>,
    private readonly config: RelayConfig = DEFAULT_RELAY_CONFIG,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * For the socket upgrader: a session this server opened and nobody has connected to yet
   * or, with several instances (attachCluster), an open session another instance opened:
   * a load balancer may send Twilio's socket to any instance.
   */
  expects = async (sessionId: string): Promise<boolean> => {
    const live = this.sessions.get(sessionId);
    if (live) return live.socket === null && live.remote === null && live.ended === null;
    if (!this.link || this.proxies.has(sessionId)) return false;
    const session = await (await this.store()).getRelaySession(sessionId);
    return session !== undefined && session.endedAt === null;
  };

  /**
   * Joins the relay services of every instance on one database. The instance that started
   * a conversation owns it (queue, timers, the agent's tools); the instance Twilio's socket
   * reached forwards every frame to it and sends what it says back, over the link, in order.
   */
  attachCluster(link: RelayLink): () => void {
    this.link = link;
    const offs = [
      link.subscribe(FRAME_TOPIC, (payload, from) => {
        const p = payload as { sessionId?: unknown; text?: unknown };
        const live = typeof p.sessionId === 'string' ? this.sessions.get(p.sessionId) : undefined;
        if (!live || typeof p.text !== 'string') return;
        live.remote = from;
        const text = p.text;
        live.remoteChain = live.remoteChain.then(() => this.onFrame(live, text)).catch((error: unknown) => log.warn(`relay frame on ${live.callSid ?? live.sessionId}: ${error instanceof Error ? error.message : String(error)}`));
      }),
      link.subscribe(CLOSED_TOPIC, (payload) => {
        const p = payload as { sessionId?: unknown };
        const live = typeof p.sessionId === 'string' ? this.sessions.get(p.sessionId) : undefined;
        if (live) live.remoteChain = live.remoteChain.then(() => this.finish(live, live.agentEnded ? 'agent_ended' : 'caller_hung_up'));
      }),
      link.subscribe(OUT_TOPIC, (payload) => {
        const p = payload as { sessionId?: unknown; frames?: unknown };
        const proxy = typeof p.sessionId === 'string' ? this.proxies.get(p.sessionId) : undefined;
        if (!proxy || !Array.isArray(p.frames)) return;
        for (const frame of p.frames) if (proxy.socket.readyState === proxy.socket.OPEN) proxy.socket.send(JSON.stringify(frame));
      }),
    ];
    return () => {
      for (const off of offs) off();
      this.link = undefined;
    };
  }

  /** Twilio's socket for a session another instance owns: frames there, its answers here. */
  private proxy(sessionId: string, socket: WebSocket, link: RelayLink): void {
    const proxy = { socket, chain: Promise.resolve() };
    this.proxies.set(sessionId, proxy);
    const forward = (topic: string, payload: unknown) => {
      // Awaited one after another: the owner sees the frames in the order the caller made them.
      proxy.chain = proxy.chain.then(() => link.publish(topic, payload)).catch((error: unknown) => log.warn(`relay ${sessionId}: could not reach the owning instance (${error instanceof Error ? error.message : String(error)})`));
    };
    socket.on('message', (data, isBinary) => forward(FRAME_TOPIC, { sessionId, text: isBinary ? '' : data.toString() }));
    socket.on('close', () => {
      this.proxies.delete(sessionId);
      forward(CLOSED_TOPIC, { sessionId });
    });
    socket.on('error', (error) => log.warn(`relay socket ${sessionId}: ${error.message}`));
  }

  private async record(sessionId: string, entry: Omit<TranscriptEntry, 'at'>): Promise<void> {
    try {
      await (await this.store()).appendTranscript(sessionId, { ...entry, at: this.now() });
    } catch (error) {
      log.error(`relay transcript ${sessionId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private send(live: LiveSession, ...frames: RelayOutbound[]): void {
    if (live.socket) {
      for (const frame of frames) if (live.socket.readyState === live.socket.OPEN) live.socket.send(JSON.stringify(frame));
      return;
    }
    const link = this.link;
    if (live.remote && link) {
      // One notification for the frames of one answer, in order after the ones before.
      live.remoteChain = live.remoteChain
        .then(() => link.publish(OUT_TOPIC, { sessionId: live.sessionId, frames }))
        .catch((error: unknown) => log.warn(`relay ${live.sessionId}: could not reach the instance holding the call (${error instanceof Error ? error.message : String(error)})`));
    }
  }

  private push(live: LiveSession, turn: CallerTurn): void {
    const waiter = live.waiters.shift();
    if (waiter) waiter(turn);
    else live.queue.push(turn);
  }

  private clearTimers(live: LiveSession): void {
    for (const t of live.timers.splice(0)) clearTimeout(t);
  }

  /** After a caller turn: a filler if the agent is slow, a polite end if it never answers. */
  private armAgentTimers(live: LiveSession): void {
    this.clearTimers(live);
    const filler = setTimeout(() => {
      if (live.ended) return;
      // last: false — the filler is not the agent's answer; the caller keeps waiting for it.
      this.send(live, relayText(`${this.config.fillerText} `, { last: false, interruptible: true, preemptible: true }));
      void this.record(live.sessionId, { speaker: 'server', kind: 'filler', text: this.config.fillerText });
    }, this.config.fillerAfterMs);
    const giveUp = setTimeout(() => {
      if (live.ended) return;
      this.send(live, relayText(this.config.giveUpText, { interruptible: false }), relayEnd({ reason: 'agent_timeout' }));
      void this.record(live.sessionId, { speaker: 'server', kind: 'said', text: this.config.giveUpText });
      void this.finish(live, 'timed_out');
    }, this.config.giveUpAfterMs);
    filler.unref();
    giveUp.unref();
    live.timers.push(filler, giveUp);
  }

  private async finish(live: LiveSession, outcome: string): Promise<void> {
    if (live.ended) return;
    live.ended = outcome;
    this.clearTimers(live);
    try {
      await (await this.store()).endRelaySession(live.sessionId, outcome, this.now());
    } catch (error) {
      log.error(`relay session ${live.sessionId}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await this.record(live.sessionId, { speaker: 'server', kind: 'ended', text: outcome });
    for (const waiter of live.waiters.splice(0)) waiter({ kind: 'ended', outcome });
    live.queue.push({ kind: 'ended', outcome });
  }

  /** For the socket upgrader: Twilio connected for `sessionId`. */
  connected = (sessionId: string, socket: WebSocket): void => {
    const live = this.sessions.get(sessionId);
    if (!live) {
      if (this.link) this.proxy(sessionId, socket, this.link);
      else socket.close(1008, 'unknown session');
      return;
    }
    live.socket = socket;
    // Frames are handled in order: each waits for the one before it to be recorded.
    let chain = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      chain = chain.then(() => this.onFrame(live, isBinary ? '' : data.toString())).catch((error: unknown) => {
        log.warn(`relay frame on ${live.callSid ?? sessionId}: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    socket.on('close', () => {
      chain = chain.then(() => this.finish(live, live.agentEnded ? 'agent_ended' : 'caller_hung_up'));
    });
    socket.on('error', (error) => log.warn(`relay socket ${sessionId}: ${error.message}`));
  };

  private async onFrame(live: LiveSession, text: string): Promise<void> {
    const frame = parseRelayFrame(text);
    if (!frame) {
      log.warn(`relay: ignored a malformed frame on ${live.callSid ?? live.sessionId} (${text.slice(0, 80)})`);
      return;
    }
    switch (frame.type) {
      case 'setup':
        live.callSid = frame.callSid;
        this.byCall.set(frame.callSid, live);
        await (await this.store()).bindRelaySession(live.sessionId, frame.callSid);
        return;
      case 'prompt':
        if (!frame.last) return; // partial results: only the caller's complete turn counts
        await this.record(live.sessionId, { speaker: 'caller', kind: 'said', text: frame.voicePrompt });
        this.push(live, { kind: 'said', text: frame.voicePrompt, ...(frame.lang && { lang: frame.lang }) });
        this.armAgentTimers(live);
        return;
      case 'dtmf':
        await this.record(live.sessionId, { speaker: 'caller', kind: 'digits', text: frame.digit });
        this.push(live, { kind: 'digits', digits: frame.digit });
        this.armAgentTimers(live);
        return;
      case 'interrupt':
        await this.record(live.sessionId, { speaker: 'caller', kind: 'interrupted', text: frame.utteranceUntilInterrupt });
        this.push(live, { kind: 'interrupted', heard_until_interrupt: frame.utteranceUntilInterrupt, after_ms: frame.durationUntilInterruptMs });
        return;
      case 'error':
        await this.record(live.sessionId, { speaker: 'server', kind: 'error', text: frame.description });
        return;
      case 'info':
        return;
    }
  }

  async start(input: StartConversationInput, options: { firstContactConfirmed?: boolean } = {}) {
    const base = await this.receiverBase();
    if (!base) {
      throw new ToolFailure({
        message: "This server's receiver has no URL Twilio can reach, so Twilio could not open the conversation's socket.",
        nextStep: 'Set TWILIO_WEBHOOK_URL to the public https URL of this server (and --webhook-port with stdio), then try again.',
      });
    }
    const sessionId = randomUUID();
    const url = `${base.replace(/^http/, 'ws')}/relay/${sessionId}`;
    const { loadVoiceResponse } = await twimlBuilder();
    const VoiceResponse = await loadVoiceResponse();
    const response = new VoiceResponse();
    response.connect().conversationRelay({
      url,
      welcomeGreeting: input.greeting,
      ...(input.language && { language: input.language }),
      ...(input.voice && { voice: input.voice }),
      ...(input.interruptible && { interruptible: input.interruptible }),
      // On by default: a caller pressing a key is a turn the agent should see.
      dtmfDetection: input.dtmf_detection ?? true,
    } as never);
    const twiml = response.toString();
    const issues = (await twimlValidator()).validateTwiml(twiml, { inline: true });
    if (issues.length > 0) {
      throw new ToolFailure({ message: `The conversation could not be set up: ${issues.map((i) => i.message).join('; ')}.`, nextStep: 'Check voice and language.' });
    }
    const live: LiveSession = { sessionId, callSid: null, socket: null, remote: null, remoteChain: Promise.resolve(), queue: [], waiters: [], ended: null, agentEnded: false, timers: [] };
    this.sessions.set(sessionId, live);
    const store = await this.store();
    await store.openRelaySession({ sessionId, to: input.to, purpose: input.purpose, startedAt: this.now() });
    try {
      const placed = await this.voice.makeCall({ to: input.to, from: input.from, twiml }, options);
      if (placed.call_sid) {
        live.callSid = placed.call_sid;
        this.byCall.set(placed.call_sid, live);
        await store.bindRelaySession(sessionId, placed.call_sid);
      } else {
        await this.finish(live, 'dry_run');
      }
      await this.record(sessionId, { speaker: 'agent', kind: 'said', text: input.greeting });
      return {
        ...placed,
        session_id: sessionId,
        purpose: input.purpose,
        what_happens: `${placed.what_happens.replace('it runs the TwiML you gave', `it says "${input.greeting}" and the conversation is yours`)} Use wait_for_caller for each turn and say_on_call to answer.`,
      };
    } catch (error) {
      await this.finish(live, 'failed');
      throw error;
    }
  }

  private live(callSid: string): LiveSession | undefined {
    return this.byCall.get(callSid);
  }

  /** The caller's next turn, or that the call ended; undefined when the wait timed out. */
  async waitForCaller(input: { call_sid: string; timeout_seconds?: number }, progress: (done: number, total: number, message: string) => Promise<void>) {
    const live = this.live(input.call_sid);
    if (!live) {
      const session = await (await this.store()).findRelaySessionByCall(input.call_sid);
      if (session?.endedAt) return { call_sid: input.call_sid, turn: { kind: 'ended' as const, outcome: session.outcome ?? 'ended' }, untrusted: true as const };
      throw new ToolFailure({ message: `${input.call_sid} is not a live conversation of this server.`, nextStep: 'Start one with start_voice_conversation; get_call shows how an earlier one went.' });
    }
    const queued = live.queue.shift();
    if (queued) {
      if (queued.kind === 'ended') live.queue.unshift(queued);
      return { call_sid: input.call_sid, turn: queued, untrusted: true as const };
    }
    const total = (input.timeout_seconds ?? 30) * 1000;
    const started = Date.now();
    const tick = setInterval(() => void progress(Date.now() - started, total, 'waiting for the caller').catch(() => {}), 1000);
    try {
      const turn = await new Promise<CallerTurn | undefined>((resolve) => {
        const timer = setTimeout(() => {
          live.waiters = live.waiters.filter((w) => w !== resolve);
          resolve(undefined);
        }, total);
        live.waiters.push((t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
      if (!turn) return { call_sid: input.call_sid, turn: null, next_step: 'The caller said nothing yet: wait again, or say_on_call to prompt them.', untrusted: true as const };
      return { call_sid: input.call_sid, turn, untrusted: true as const };
    } finally {
      clearInterval(tick);
    }
  }

  async say(input: { call_sid: string; text: string; end_call?: boolean; interruptible?: boolean }) {
    const live = this.live(input.call_sid);
    if (!live || live.ended) {
      throw new ToolFailure({ message: `${input.call_sid} is not a live conversation${live?.ended ? ` (it ended: ${live.ended})` : ''}.`, nextStep: 'get_call shows how it went.' });
    }
    if (!live.socket && !live.remote) throw new ToolFailure({ message: 'The call has not connected yet.', nextStep: 'Call wait_for_caller first: it returns once the caller speaks.' });
    this.clearTimers(live);
    // Streamed word by word, as a model would: the caller hears it at once and can interrupt.
    const tokens = input.text.match(/\S+\s*/g) ?? [input.text];
    const frames = tokens.map((token, i) => relayText(token, { last: i === tokens.length - 1, interruptible: input.interruptible ?? true }));
    if (input.end_call) {
      live.agentEnded = true;
      frames.push(relayEnd({ reason: 'agent_ended' }));
    }
    this.send(live, ...frames);
    await this.record(live.sessionId, { speaker: 'agent', kind: 'said', text: input.text });
    return { call_sid: input.call_sid, said: input.text, ended: input.end_call === true };
  }

  async close(): Promise<void> {
    for (const live of this.sessions.values()) {
      this.clearTimers(live);
      live.socket?.close(1001, 'server stopping');
    }
    for (const proxy of this.proxies.values()) proxy.socket.close(1001, 'server stopping');
  }
}
