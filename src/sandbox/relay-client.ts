/**
 * Twilio's side of ConversationRelay, played by the sandbox: when a call reaches
 * `<Connect><ConversationRelay url="wss://…">`, the sandbox opens a WebSocket to the app
 * (the "agent"), speaks Twilio's JSON messages on it, and plays the scripted caller's
 * `relay_turns` (caller-script.ts) as speech-to-text would deliver them.
 *
 * HANDSHAKE. The URL must be ws:// or wss:// and pass the callback policy as a webhook
 * URL would, judged on its http(s) form (ws → http, wss → https), so loopback is reached
 * only when the policy allows it. The upgrade request carries `X-Twilio-Signature`, signed
 * as Twilio signs a webhook with no parameters: HMAC-SHA1 over the exact URL of the TwiML
 * (wss:// scheme and query included), i.e. `validateRequest(token, sig, url, {})`.
 * Redirects are not followed; an upgrade that fails is Twilio's 64102.
 *
 * MESSAGES (Twilio's "WebSocket messages" page). To the agent: `setup` first (sessionId
 * VX…, accountSid, parentCallSid, callSid, from, to, forwardedFrom, callType PSTN,
 * callerName, direction, callStatus, customParameters from `<Parameter>`), then `prompt`
 * (voicePrompt, lang, last: true), `dtmf` (digit, one per key, only with
 * dtmfDetection="true", as on Twilio), `interrupt` (utteranceUntilInterrupt,
 * durationUntilInterruptMs) and `error` (description) for a message it cannot act on
 * (Twilio's 64107: recorded, answered, ignored; the session goes on). From the agent:
 * `text` (token, last, lang, interruptible, preemptible), `play` (source, loop),
 * `sendDigits` (digits), `language` (ttsLanguage, transcriptionLanguage), `end`
 * (handoffData).
 *
 * TURN-TAKING (the rule the caller follows):
 * - The caller has the floor at the start, once the welcomeGreeting (if any) has played.
 * - Every turn but an interrupt waits for the floor: no agent reply in progress (a reply
 *   is the `text` tokens up to the one with `last: true`), no reply owed, and the caller
 *   has heard what the agent said (words ÷ 2.5 s, a play 5 s per loop, on the call clock).
 * - `say` gives the floor to the agent: the next turn waits until its reply ends (a `text`
 *   with `last: true`, or a `play`), however long it takes, bounded by the call's time
 *   limit (the call clock runs in real time while it waits, as during a conference).
 * - `digits` does not give the floor away: the next turn goes on at once unless the agent
 *   has started to speak by then. To hear what keys provoke, follow them with
 *   `silence_seconds`.
 * - `interrupt_after_tokens: N` does not wait: it counts the tokens of the reply in
 *   progress (or the next one), hears the first N (their speaking time), sends `interrupt`
 *   with them joined, and then says `say` if given. Tokens of the interrupted reply that
 *   arrive afterwards are not heard (until its `last: true` or the caller's next prompt).
 *   A reply that ends before N tokens, or that may not be interrupted (the token's
 *   `interruptible: false`, or the attribute none/dtmf), is heard whole and `say` follows
 *   as an ordinary turn.
 * - Speaking takes words ÷ 2.5 s before the prompt is sent; each key 0.5 s.
 * - When the turns run out the caller keeps listening and hangs up after
 *   IDLE_HANGUP_SECONDS (30 simulated s) without anything from the agent.
 *
 * THE END. `end` closes the socket (1000) and the walk goes on after <Connect> (its action
 * first, see twiml-walker.ts); the caller's `hangup` (or idle) closes it (1000) and hangs
 * up; the agent closing the socket ends the call (64105). A REST hang-up, the time limit
 * or the sandbox closing close the socket too (1000, or 1001 when the sandbox closes).
 *
 * TRANSCRIPT. What the caller said and heard, in order: consecutive tokens of one reply
 * are joined (concatenated as sent, trimmed) into one `text` entry; an interrupted reply's
 * entry is what was heard before the interrupt.
 */
import WebSocket, { type RawData } from 'ws';
import type { CallClock } from './call-lifecycle.js';
import type { RelayTurn } from './caller-script.js';
import { newSid } from './wire.js';

export interface RelayTranscriptEntry {
  /** Simulated seconds since the call was created. */
  at: number;
  from: 'caller' | 'agent';
  kind: 'prompt' | 'dtmf' | 'interrupt' | 'text' | 'play' | 'digits' | 'end' | 'greeting' | 'error';
  text: string;
}

export type Interruptible = 'any' | 'none' | 'dtmf' | 'speech';

export interface RelaySettings {
  url: string;
  welcomeGreeting: string | null;
  /** BCP-47, default en-US; the `lang` of prompts unless transcriptionLanguage says otherwise. */
  language: string;
  transcriptionLanguage: string | null;
  interruptible: Interruptible;
  dtmfDetection: boolean;
  customParameters: Record<string, string>;
}

export interface RelayDeps {
  clock: CallClock;
  /** The call's interrupt signal right now. */
  signal(): AbortSignal;
  /** The call's standard parameters (CallSid, AccountSid, From, To, Direction, CallStatus, …). */
  callParams(): Record<string, string>;
  /** Why an http(s) URL may not be called (the callback policy), or undefined. */
  refusal(httpUrl: string): Promise<string | undefined>;
  /** X-Twilio-Signature for a request to `url` without parameters. */
  sign(url: string): string;
  nextTurn(): RelayTurn | undefined;
  /** One transcript entry (also a trace step), with the error code when it reports one. */
  record(entry: RelayTranscriptEntry, error?: { code: number; message: string }): void;
  trace(step: { verb: string; text?: string; note?: string; result?: Record<string, string> }): void;
}

export type RelayOutcome =
  | { kind: 'ended'; sessionId: string; seconds: number; handoffData?: string }
  | { kind: 'caller-hangup'; sessionId: string; seconds: number; idle: boolean }
  | { kind: 'closed'; sessionId: string; seconds: number; code: number; reason: string }
  | { kind: 'failed'; sessionId: string; code: 64102; reason: string };

const WORDS_PER_SECOND = 2.5;
const KEY_SECONDS = 0.5;
const PLAY_SECONDS = 5;
/** loop="0" (forever) still ends: the caller hears this many loops. */
const MAX_PLAY_LOOPS = 100;
export const IDLE_HANGUP_SECONDS = 30;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often (real ms) a bounded wait looks at the call clock. */
const WAIT_TICK_MS = 20;
/** After our close frame, how long (real ms) the agent has to answer it before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;

const speechSeconds = (text: string) => Math.max(1, text.split(/\s+/).filter(Boolean).length) / WORDS_PER_SECOND;
const rounded = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** ws://host → http://host, wss://host → https://host: the form the callback policy judges. */
export function relayPolicyUrl(url: string): string | { refused: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { refused: 'it is not an absolute ws:// or wss:// URL' };
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return { refused: `ConversationRelay connects to ws:// and wss:// URLs only, not ${parsed.protocol}` };
  return (parsed.protocol === 'wss:' ? 'https:' : 'http:') + url.slice(parsed.protocol.length);
}

// ---------------------------------------------------------------- what the agent sends

type AgentMessage =
  | { type: 'text'; token: string; last: boolean; interruptible?: boolean }
  | { type: 'play'; source: string; loop: number }
  | { type: 'sendDigits'; digits: string }
  | { type: 'language'; ttsLanguage?: string; transcriptionLanguage?: string }
  | { type: 'end'; handoffData?: string };

type Inbound = { kind: 'message'; message: AgentMessage } | { kind: 'invalid'; description: string } | { kind: 'closed'; code: number; reason: string };

const optionalBoolean = (v: unknown) => v === undefined || typeof v === 'boolean';
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

/** One frame from the agent, checked as Twilio checks it; anything else is an `invalid` (64107). */
export function parseAgentFrame(raw: string): Inbound {
  const invalid = (why: string): Inbound => ({ kind: 'invalid', description: `Invalid message received: ${raw.length > 200 ? `${raw.slice(0, 200)}…` : raw} (${why})` });
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return invalid('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('not a JSON object');
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'text':
      if (typeof m.token !== 'string') return invalid('text needs a string token');
      if (!optionalBoolean(m.last) || !optionalBoolean(m.interruptible) || !optionalBoolean(m.preemptible) || !optionalString(m.lang)) return invalid('last, interruptible and preemptible are booleans, lang a string');
      return { kind: 'message', message: { type: 'text', token: m.token, last: m.last === true, ...(typeof m.interruptible === 'boolean' && { interruptible: m.interruptible }) } };
    case 'play': {
      if (typeof m.source !== 'string' || m.source === '') return invalid('play needs a source URL');
      if (m.loop !== undefined && (typeof m.loop !== 'number' || !Number.isInteger(m.loop) || m.loop < 0)) return invalid('loop is a non-negative integer');
      const loop = m.loop === undefined ? 1 : m.loop === 0 ? MAX_PLAY_LOOPS : Math.min(m.loop as number, MAX_PLAY_LOOPS);
      return { kind: 'message', message: { type: 'play', source: m.source, loop } };
    }
    case 'sendDigits':
      if (typeof m.digits !== 'string' || !/^[0-9*#wW]+$/.test(m.digits)) return invalid('sendDigits needs digits (0-9, *, #, w)');
      return { kind: 'message', message: { type: 'sendDigits', digits: m.digits } };
    case 'language':
      if (!optionalString(m.ttsLanguage) || !optionalString(m.transcriptionLanguage) || (m.ttsLanguage === undefined && m.transcriptionLanguage === undefined)) {
        return invalid('language needs ttsLanguage or transcriptionLanguage');
      }
      return { kind: 'message', message: { type: 'language', ...(typeof m.ttsLanguage === 'string' && { ttsLanguage: m.ttsLanguage }), ...(typeof m.transcriptionLanguage === 'string' && { transcriptionLanguage: m.transcriptionLanguage }) } };
    case 'end':
      if (!optionalString(m.handoffData)) return invalid('handoffData is a string');
      return { kind: 'message', message: { type: 'end', ...(typeof m.handoffData === 'string' && { handoffData: m.handoffData }) } };
    default:
      return invalid(typeof m.type === 'string' ? `unknown type ${m.type}` : 'no type');
  }
}

// ---------------------------------------------------------------- the session

interface Reply {
  tokens: string[];
  at: number;
  /** The last token's own `interruptible`, which wins over the TwiML attribute. */
  interruptible: boolean | undefined;
}

/** Runs one ConversationRelay session to its end. Call interrupts propagate as CallInterrupted. */
export async function runRelaySession(deps: RelayDeps, settings: RelaySettings): Promise<RelayOutcome> {
  return new RelaySession(deps, settings).run();
}

class RelaySession {
  private readonly sessionId = newSid('VX');
  private readonly queue: Inbound[] = [];
  private wake: (() => void) | undefined;
  private socket: WebSocket | undefined;
  private startedAt = 0;
  private reply: Reply | null = null;
  private repliesFinished = 0;
  private owesReply = false;
  private discarding = false;
  /** Simulated seconds of agent audio the caller has yet to hear. */
  private playback = 0;
  private lang: string;

  constructor(
    private readonly deps: RelayDeps,
    private readonly settings: RelaySettings,
  ) {
    this.lang = settings.transcriptionLanguage ?? settings.language;
  }

  private get clock(): CallClock {
    return this.deps.clock;
  }

  private seconds(): number {
    return Math.round(this.clock.now - this.startedAt);
  }

  async run(): Promise<RelayOutcome> {
    const { deps, settings } = this;
    const policyUrl = relayPolicyUrl(settings.url);
    const refused = typeof policyUrl === 'string' ? await deps.refusal(policyUrl) : policyUrl.refused;
    if (refused !== undefined) return { kind: 'failed', sessionId: this.sessionId, code: 64102, reason: `not connected: ${refused}` };
    try {
      this.socket = await this.open();
    } catch (error) {
      if (deps.signal().aborted || !(error instanceof HandshakeError)) throw error;
      return { kind: 'failed', sessionId: this.sessionId, code: 64102, reason: `could not connect: ${error.message}` };
    }
    this.startedAt = this.clock.now;
    try {
      const p = deps.callParams();
      this.send({
        type: 'setup',
        sessionId: this.sessionId,
        accountSid: p.AccountSid,
        parentCallSid: p.ParentCallSid ?? '',
        callSid: p.CallSid,
        from: p.From,
        to: p.To,
        forwardedFrom: '',
        callType: 'PSTN',
        callerName: '',
        direction: p.Direction,
        callStatus: (p.CallStatus ?? '').toUpperCase(),
        customParameters: settings.customParameters,
      });
      deps.trace({ verb: 'ConversationRelay/setup', text: settings.url, result: { SessionId: this.sessionId } });
      if (settings.welcomeGreeting) {
        this.record('agent', 'greeting', settings.welcomeGreeting);
        this.playback += speechSeconds(settings.welcomeGreeting);
      }
      for (;;) {
        const turn = deps.nextTurn();
        const outcome = turn ? await this.play(turn) : await this.listenThenHangUp();
        if (outcome) return outcome;
      }
    } finally {
      this.finishReply();
      this.close(this.deps.signal().aborted && (this.deps.signal().reason as { kind?: string } | undefined)?.kind === 'close' ? 1001 : 1000);
    }
  }

  // ------------------------------------------------------------ the caller's turns

  private async play(turn: RelayTurn): Promise<RelayOutcome | undefined> {
    if ('interrupt_after_tokens' in turn) return this.interrupt(turn.interrupt_after_tokens, turn.say);
    const floor = await this.waitForFloor();
    if (floor) return floor;
    if ('say' in turn) return this.speak(turn.say);
    if ('digits' in turn) return this.press(turn.digits);
    if ('silence_seconds' in turn) {
      this.deps.trace({ verb: 'ConversationRelay/silence', note: `the caller says nothing for ${turn.silence_seconds} s` });
      await this.clock.sleep(turn.silence_seconds);
      return undefined;
    }
    this.deps.trace({ verb: 'ConversationRelay/hangup', note: 'the caller hangs up' });
    return { kind: 'caller-hangup', sessionId: this.sessionId, seconds: this.seconds(), idle: false };
  }

  private async speak(text: string): Promise<RelayOutcome | undefined> {
    const at = this.clock.now;
    await this.clock.sleep(speechSeconds(text));
    // What arrived while the caller spoke is handled first (an interrupted reply's tail is dropped).
    const done = this.drain();
    if (done) return done;
    this.discarding = false;
    this.send({ type: 'prompt', voicePrompt: text, lang: this.lang, last: true });
    this.record('caller', 'prompt', text, at);
    this.owesReply = true;
    return undefined;
  }

  private async press(digits: string): Promise<RelayOutcome | undefined> {
    if (!this.settings.dtmfDetection) {
      this.deps.trace({ verb: 'ConversationRelay/dtmf', text: digits, note: 'dtmfDetection is not true: Twilio does not relay the keys' });
      await this.clock.sleep(digits.length * KEY_SECONDS);
      return undefined;
    }
    const at = this.clock.now;
    for (const digit of digits) {
      await this.clock.sleep(KEY_SECONDS);
      this.send({ type: 'dtmf', digit });
    }
    this.record('caller', 'dtmf', digits, at);
    return undefined;
  }

  private async interrupt(afterTokens: number, say: string | undefined): Promise<RelayOutcome | undefined> {
    const finishedBefore = this.repliesFinished;
    for (;;) {
      const reply = this.reply;
      if (reply && !this.discarding && reply.tokens.length >= afterTokens) {
        const allowed = reply.interruptible ?? (this.settings.interruptible === 'any' || this.settings.interruptible === 'speech');
        if (!allowed) {
          this.deps.trace({ verb: 'ConversationRelay/interrupt', note: 'the reply may not be interrupted by speech: the caller hears it out' });
          break;
        }
        const heard = reply.tokens.join('').trim();
        const seconds = speechSeconds(heard);
        await this.clock.sleep(seconds);
        this.finishReply();
        this.playback = 0;
        this.discarding = true;
        this.send({ type: 'interrupt', utteranceUntilInterrupt: heard, durationUntilInterruptMs: Math.round(seconds * 1000) });
        this.record('caller', 'interrupt', heard);
        return say === undefined ? undefined : this.speak(say);
      }
      if (this.repliesFinished > finishedBefore) {
        this.deps.trace({ verb: 'ConversationRelay/interrupt', note: `the reply ended before ${afterTokens} tokens: nothing to interrupt` });
        break;
      }
      const done = this.handle(await this.nextEvent());
      if (done) return done;
    }
    if (say === undefined) return undefined;
    const floor = await this.waitForFloor();
    return floor ?? this.speak(say);
  }

  /** After the last turn: the caller listens, and hangs up after IDLE_HANGUP_SECONDS of quiet. */
  private async listenThenHangUp(): Promise<RelayOutcome> {
    for (;;) {
      const floor = await this.waitForFloor();
      if (floor) return floor;
      const event = await this.nextEvent(this.clock.now + IDLE_HANGUP_SECONDS);
      if (!event) {
        this.deps.trace({ verb: 'ConversationRelay/hangup', note: `nothing more to say and ${IDLE_HANGUP_SECONDS} s of quiet: the caller hangs up` });
        return { kind: 'caller-hangup', sessionId: this.sessionId, seconds: this.seconds(), idle: true };
      }
      const done = this.handle(event);
      if (done) return done;
    }
  }

  /** Until the caller may speak: no reply in progress or owed, everything said heard. */
  private async waitForFloor(): Promise<RelayOutcome | undefined> {
    for (;;) {
      const done = this.drain();
      if (done) return done;
      if (this.reply || this.owesReply) {
        const next = this.handle(await this.nextEvent());
        if (next) return next;
        continue;
      }
      if (this.playback > 0) {
        const seconds = this.playback;
        this.playback = 0;
        await this.clock.sleep(seconds);
        continue;
      }
      return undefined;
    }
  }

  // ------------------------------------------------------------ what the agent sends

  private drain(): RelayOutcome | undefined {
    for (let event = this.queue.shift(); event; event = this.queue.shift()) {
      const done = this.handle(event);
      if (done) return done;
    }
    return undefined;
  }

  private handle(event: Inbound): RelayOutcome | undefined {
    if (event.kind === 'closed') {
      this.finishReply();
      return { kind: 'closed', sessionId: this.sessionId, seconds: this.seconds(), code: event.code, reason: event.reason };
    }
    if (event.kind === 'invalid') {
      this.record('agent', 'error', event.description, this.clock.now, { code: 64107, message: event.description });
      this.send({ type: 'error', description: event.description });
      return undefined;
    }
    const m = event.message;
    switch (m.type) {
      case 'text': {
        if (this.discarding) {
          if (m.last) this.discarding = false;
          return undefined;
        }
        this.reply ??= { tokens: [], at: this.clock.now, interruptible: undefined };
        this.reply.tokens.push(m.token);
        if (m.interruptible !== undefined) this.reply.interruptible = m.interruptible;
        if (m.last) this.finishReply();
        return undefined;
      }
      case 'play':
        this.finishReply();
        this.record('agent', 'play', `[play ${m.source}]`);
        this.playback += PLAY_SECONDS * m.loop;
        this.owesReply = false;
        return undefined;
      case 'sendDigits':
        this.record('agent', 'digits', m.digits);
        return undefined;
      case 'language':
        if (m.transcriptionLanguage) this.lang = m.transcriptionLanguage;
        this.deps.trace({ verb: 'ConversationRelay/language', result: { ...(m.ttsLanguage && { ttsLanguage: m.ttsLanguage }), ...(m.transcriptionLanguage && { transcriptionLanguage: m.transcriptionLanguage }) } });
        return undefined;
      case 'end':
        this.finishReply();
        this.record('agent', 'end', m.handoffData ?? '');
        return { kind: 'ended', sessionId: this.sessionId, seconds: this.seconds(), ...(m.handoffData !== undefined && { handoffData: m.handoffData }) };
    }
  }

  /** The reply in progress, as far as it got, becomes one transcript entry. */
  private finishReply(): void {
    const reply = this.reply;
    if (!reply) return;
    this.reply = null;
    this.repliesFinished += 1;
    this.owesReply = false;
    const text = reply.tokens.join('').trim();
    this.record('agent', 'text', text, reply.at);
    this.playback += speechSeconds(text);
  }

  private record(from: RelayTranscriptEntry['from'], kind: RelayTranscriptEntry['kind'], text: string, at = this.clock.now, error?: { code: number; message: string }): void {
    this.deps.record({ at: rounded(at), from, kind, text }, error);
  }

  // ------------------------------------------------------------ the socket

  /**
   * The next thing the agent did; with a deadline (simulated seconds), undefined once it
   * passes. Waits run on the call clock (real time, bounded by the call's end and signal);
   * a bounded one looks at the clock every WAIT_TICK_MS, since the clock does not say
   * how fast it runs.
   */
  private async nextEvent(): Promise<Inbound>;
  private async nextEvent(deadline: number): Promise<Inbound | undefined>;
  private async nextEvent(deadline?: number): Promise<Inbound | undefined> {
    for (;;) {
      const queued = this.queue.shift();
      if (queued) return queued;
      if (deadline !== undefined && this.clock.now >= deadline) return undefined;
      const before = this.clock.now;
      await this.clock.until(this.arrival(deadline === undefined ? undefined : WAIT_TICK_MS));
      // A clock that did not move in real time (msPerSecond 0) would never reach the deadline.
      if (deadline !== undefined && this.queue.length === 0 && this.clock.now <= before) return undefined;
    }
  }

  /** Resolves when something is queued, or after `ms` real milliseconds. */
  private arrival(ms: number | undefined): Promise<void> {
    // One waiter at a time: the session is a single sequential loop.
    return new Promise<void>((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      timer?.unref();
      this.wake = done;
    });
  }

  private push(event: Inbound): void {
    this.queue.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Connects, bounded by the handshake timeout and by the call (an interrupt cuts it). */
  private async open(): Promise<WebSocket> {
    const url = this.settings.url;
    const socket = new WebSocket(url, {
      headers: { 'X-Twilio-Signature': this.deps.sign(url) },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      followRedirects: false,
      perMessageDeflate: false,
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      this.push(isBinary ? { kind: 'invalid', description: 'Invalid message received: a binary frame (messages are JSON text)' } : parseAgentFrame(rawText(data)));
    });
    socket.on('close', (code: number, reason: Buffer) => this.push({ kind: 'closed', code, reason: reason.toString('utf8') }));
    const opened = new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => {
        reject(new HandshakeError(`the server answered HTTP ${res.statusCode ?? '?'} instead of switching protocols`));
        socket.terminate();
      });
      socket.once('error', (error: Error) => reject(new HandshakeError(error.message)));
    });
    // Errors after the handshake are followed by 'close', which ends the session.
    socket.on('error', () => undefined);
    try {
      return await this.clock.until(opened);
    } catch (error) {
      socket.terminate();
      throw error;
    }
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private close(code: 1000 | 1001): void {
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING) return;
    socket.close(code);
    const cut = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  }
}

class HandshakeError extends Error {}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
