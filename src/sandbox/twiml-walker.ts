/**
 * Runs a call's TwiML as Twilio would: fetch the document (signed, through the callback
 * policy), then each verb in order on the call's simulated clock, with the scripted
 * caller's inputs. Parsed with fast-xml-parser, not the saxes validator the server uses
 * for the TwiML it writes: two parsers, so one's blind spot is not the other's.
 *
 * Verbs (what each takes from the clock and the caller):
 * - Say: words / 2.5 seconds (× loop). Play: 5 s per play (× loop; `digits` 0.5 s per
 *   key). Pause: `length` (default 1).
 * - Gather (input dtmf|speech, timeout 5, numDigits, finishOnKey '#', action, method,
 *   actionOnEmptyResult): nested Say/Play/Pause play first, then the caller's next input.
 *   Digits (cut at finishOnKey, at most numDigits) or speech (SpeechResult, Confidence)
 *   POST the action (default: the document's own URL), whose answer REPLACES the document.
 *   No input (silence, nothing left, or input of a kind not listened for) waits `timeout`,
 *   then goes on with the next verb, or POSTs the action without Digits when
 *   actionOnEmptyResult=true.
 * - Record (maxLength 3600, timeout 5, action, method, recordingStatusCallback,
 *   transcribe, transcribeCallback, playBeep, finishOnKey): the next input is what the
 *   caller says (speech → transcription text, talk_seconds → length, default 5). A key in
 *   its `digits` ends the recording (Digits = that key), otherwise it ends by hang-up
 *   (Digits=hangup, as the brief for this sandbox defines it). The recording is created
 *   through the recordings store (source RecordVerb) and the action gets RecordingUrl,
 *   RecordingSid, RecordingDuration, Digits. Silence records nothing: after `timeout` the
 *   walk goes on with the next verb, the action is not requested.
 * - Redirect: fetches its URL (relative to the document; method default POST). More than
 *   20 Redirects in a row, or more than 100 documents in one call, end the call with
 *   11215 (too many redirects: a loop).
 * - Dial (action, method, timeout 30, timeLimit, callerId, record): see call-lifecycle/
 *   calls.ts for the leg; Number/Client/Sip ring the script of that address; Conference
 *   joins through the conferences store and stays until removed/ended or the caller's
 *   hang-up; Queue: no one ever waits in a sandbox queue (Enqueue is not emulated), so
 *   no-answer after the timeout. With an action, it is POSTed with DialCallStatus,
 *   DialCallSid, DialCallDuration; without, the walk goes on with the next verb.
 * - Hangup ends the call. Reject (reason rejected|busy) as the first verb of an inbound
 *   call leaves it unanswered: busy for reason=busy, no-answer for rejected; later, it
 *   hangs up.
 * - Connect (action, method) with a ConversationRelay noun (url, welcomeGreeting, language,
 *   transcriptionLanguage, interruptible, dtmfDetection; <Parameter name value> children
 *   are its customParameters): the sandbox plays Twilio's side of the WebSocket session
 *   and the caller's relay_turns (relay-client.ts). When the agent ends the session
 *   (`end`), the action is requested with SessionId, SessionStatus=completed,
 *   SessionDuration and HandoffData, and its answer replaces the document; without an
 *   action the walk goes on after <Connect>. A URL that is refused or cannot be connected
 *   (64102) requests the action with SessionStatus=failed and ErrorCode, else ends the
 *   call; the caller hanging up, or the agent closing the socket (64105), ends the call.
 *   Connect with any other noun (Stream, Room, VirtualAgent, …) is not emulated.
 * - Enqueue, Leave, Refer: not emulated; the step is recorded and the call ends.
 *   Any other element is skipped (Twilio's 12200 schema warning) and recorded.
 * - The end of the document completes the call.
 *
 * A fetch that fails (refused by the policy, no answer, non-2xx) is 11200; a body that is
 * not well-formed XML 12100; a root other than <Response> 12102. Each ends the call with
 * the error recorded in its trace.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import { twilioSignature } from './callbacks.js';
import { type CallClock, CallInterrupted } from './call-lifecycle.js';
import type { TwimlSource } from './call-validation.js';
import { type CallerInput, type CallerInputs, DEFAULT_CONFIDENCE, DEFAULT_TALK_SECONDS } from './caller-script.js';
import { type Interruptible, type RelayTranscriptEntry, runRelaySession } from './relay-client.js';

// ---------------------------------------------------------------- trace

/** One step the walker took; `at` is simulated seconds since the call was created. */
export interface TraceStep {
  at: number;
  verb: string;
  attributes?: Record<string, string>;
  text?: string;
  /** The caller input a Gather or Record consumed (null: none left). */
  input?: CallerInput | null;
  fetched?: { url: string; method: string; status: number | undefined };
  /** What came of it: digits gathered, DialCallStatus, a recording SID, … */
  result?: Record<string, string>;
  note?: string;
  error?: { code: number; message: string };
  /** A ConversationRelay transcript entry (handle.relayTranscript collects them). */
  relay?: RelayTranscriptEntry;
}

// ---------------------------------------------------------------- documents

export interface TwimlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: TwimlNode[];
}

export type ParsedTwiml = { verbs: TwimlNode[] } | { error: { code: number; message: string } };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
});

type RawNode = Record<string, unknown>;

function toNode(raw: RawNode): TwimlNode | undefined {
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (!name || name === '#text' || name.startsWith('?') || name === '#comment') return undefined;
  const body = (raw[name] as RawNode[]) ?? [];
  const attrs = Object.fromEntries(Object.entries((raw[':@'] as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]));
  const text = body
    .filter((c) => '#text' in c)
    .map((c) => String(c['#text']))
    .join(' ')
    .trim();
  const children = body.map(toNode).filter((n): n is TwimlNode => n !== undefined);
  return { name, attrs, text, children };
}

export function parseTwiml(body: string): ParsedTwiml {
  const text = body.replace(/^\uFEFF/, '');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    return { error: { code: 12100, message: `Document parse failure: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})` } };
  }
  const roots = (parser.parse(text) as RawNode[]).map(toNode).filter((n): n is TwimlNode => n !== undefined);
  const root = roots[0];
  if (!root || root.name !== 'Response') {
    return { error: { code: 12102, message: `The root element must be Response, got ${root ? `<${root.name}>` : 'no element'}` } };
  }
  return { verbs: root.children };
}

// ---------------------------------------------------------------- fetching

export interface FetchedDocument {
  status: number;
  body: string;
}

export class TwimlFetchError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

const FETCH_TIMEOUT_MS = 15_000;
const resolveHost = (hostname: string): Promise<string[]> =>
  lookup(hostname, { all: true }).then((found) => found.map((a) => a.address), () => []);

/**
 * Signed requests for TwiML (and GET status callbacks): the callback policy first, with
 * the host resolved when a policy is set (as WebhookSender does); POST form-encoded or GET
 * with the parameters in the query (then the signature covers the full URL alone); no
 * redirects followed; one attempt, cut by its timeout or by the call's signal.
 */
export class TwimlFetcher {
  constructor(
    private readonly authToken: string,
    private readonly policy: CallbackPolicy | undefined,
    private readonly resolve: (hostname: string) => Promise<string[]> = resolveHost,
  ) {}

  async refusal(url: string): Promise<string | undefined> {
    const direct = callbackRefusal(url, this.policy);
    if (direct || !this.policy) return direct;
    const hostname = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(hostname)) return undefined;
    return callbackRefusal(url, this.policy, await this.resolve(hostname));
  }

  /** X-Twilio-Signature of a request to `url` without parameters (a WebSocket handshake). */
  sign(url: string): string {
    return twilioSignature(this.authToken, url, {});
  }

  async fetch(url: string, method: 'GET' | 'POST', params: Record<string, string>, signal?: AbortSignal): Promise<FetchedDocument> {
    const refused = await this.refusal(url);
    if (refused) throw new TwimlFetchError(`not requested: ${refused}`, undefined);
    let target = url;
    let body: string | undefined;
    let signature: string;
    const headers: Record<string, string> = { 'user-agent': 'TwilioProxy/1.1', accept: 'text/xml, application/xml, */*' };
    if (method === 'GET') {
      const parsed = new URL(url);
      for (const [k, v] of Object.entries(params)) parsed.searchParams.append(k, v);
      target = parsed.toString();
      signature = twilioSignature(this.authToken, target, {});
    } else {
      body = new URLSearchParams(params).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
      signature = twilioSignature(this.authToken, url, params);
    }
    headers['x-twilio-signature'] = signature;
    const attempt = new AbortController();
    const cut = () => attempt.abort();
    const timer = setTimeout(cut, FETCH_TIMEOUT_MS);
    timer.unref();
    signal?.addEventListener('abort', cut, { once: true });
    try {
      const response = await fetch(target, { method, headers, body, signal: attempt.signal, redirect: 'manual' });
      const text = await response.text();
      if (!response.ok) throw new TwimlFetchError(`answered HTTP ${response.status}`, response.status);
      return { status: response.status, body: text };
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof TwimlFetchError) throw error;
      throw new TwimlFetchError(error instanceof Error ? error.message : String(error), undefined);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cut);
    }
  }
}

// ---------------------------------------------------------------- the walk

export type DialTarget =
  | { kind: 'number' | 'client' | 'sip'; address: string }
  | { kind: 'queue'; address: string };

export interface DialOutcome {
  status: 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';
  callSid: string;
  durationSeconds: number;
}

/** What the walker needs from the recordings store (recordings.ts). */
export interface RecordingsPort {
  create(input: {
    callSid: string;
    durationSeconds: number;
    source: 'RecordVerb' | 'OutboundAPI' | 'DialVerb' | 'Conference';
    transcribe?: boolean;
    transcriptionText?: string;
    statusCallback?: string | null;
    transcribeCallback?: string | null;
  }): { sid: string };
  mediaUrl(sid: string): string;
}

/** What the walker needs from the conferences store (conferences.ts). */
export interface ConferencesPort {
  join(
    friendlyName: string,
    callSid: string,
    options: { muted?: boolean; startConferenceOnEnter?: boolean; endConferenceOnExit?: boolean; record?: boolean; statusCallback?: string | null },
  ): { conferenceSid: string; left: Promise<'removed' | 'ended'> };
  leave(callSid: string): void;
}

export interface WalkerDeps {
  callSid: string;
  clock: CallClock;
  inputs: CallerInputs;
  fetcher: TwimlFetcher;
  /** The interrupt signal of the call right now (it changes after a REST redirect). */
  signal(): AbortSignal;
  /** The call's standard request parameters at this moment (CallSid, CallStatus, …). */
  callParams(): Record<string, string>;
  /** Picks the call up if it is not yet (inbound: the first verb that is not <Reject>). */
  answer(): void;
  isAnswered(): boolean;
  dial(target: DialTarget, options: { timeoutSeconds: number; timeLimitSeconds: number; callerId: string | null }): Promise<DialOutcome>;
  recordings: RecordingsPort;
  conferences: ConferencesPort;
  /** Absolute URL of a recording's media, from the store's relative one. */
  recordingUrl(relative: string): string;
  trace(step: Omit<TraceStep, 'at'>): void;
}

export type WalkEnd =
  | { kind: 'end-of-document' }
  | { kind: 'hangup' }
  | { kind: 'rejected'; reason: 'busy' | 'rejected' }
  | { kind: 'not-emulated'; verb: string }
  | { kind: 'error'; code: number; message: string };

export const MAX_REDIRECTS_IN_ROW = 20;
export const MAX_DOCUMENTS = 100;
const SAY_WORDS_PER_SECOND = 2.5;
const PLAY_SECONDS = 5;
const DIGIT_SECONDS = 0.5;
const BEEP_SECONDS = 0.5;
const DEFAULT_DIAL_TIMEOUT = 30;
/** A loop="0" (forever) still stops: the call's end (hang-up, time limit) cuts it first in practice. */
const FOREVER_LOOPS = 10_000;

interface Document {
  url: string | null;
  verbs: TwimlNode[];
}

type Step = { next: 'continue' } | { next: 'fetch'; url: string; method: 'GET' | 'POST'; extra: Record<string, string>; redirect: boolean } | { next: 'end'; end: WalkEnd };

const CONTINUE: Step = { next: 'continue' };

class WalkError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const intAttr = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
};

const methodAttr = (value: string | undefined): 'GET' | 'POST' => (value?.toUpperCase() === 'GET' ? 'GET' : 'POST');

const loopsOf = (value: string | undefined) => {
  const n = intAttr(value, 1);
  return n === 0 ? FOREVER_LOOPS : n;
};

const wordsIn = (text: string) => text.split(/\s+/).filter(Boolean).length;

/**
 * Walks a call's TwiML from `source` until the call ends. Interrupts (REST hang-up or
 * redirect, the caller hanging up, close) propagate as CallInterrupted for the caller of
 * walk() to handle.
 */
export async function walk(deps: WalkerDeps, source: TwimlSource): Promise<WalkEnd> {
  let documents = 0;
  let redirectsInRow = 0;

  const load = async (url: string, method: 'GET' | 'POST', extra: Record<string, string>): Promise<Document> => {
    documents += 1;
    if (documents > MAX_DOCUMENTS) throw new WalkError(11215, `More than ${MAX_DOCUMENTS} documents fetched for one call: the TwiML loops.`);
    let fetched: FetchedDocument;
    try {
      fetched = await deps.fetcher.fetch(url, method, { ...deps.callParams(), ...extra }, deps.signal());
    } catch (error) {
      if (deps.signal().aborted) throw new CallInterrupted(deps.signal().reason);
      const status = error instanceof TwimlFetchError ? error.status : undefined;
      deps.trace({ verb: 'fetch', fetched: { url, method, status } });
      throw new WalkError(11200, `HTTP retrieval failure: ${url} ${error instanceof Error ? error.message : String(error)}`);
    }
    deps.trace({ verb: 'fetch', fetched: { url, method, status: fetched.status } });
    return { url, verbs: parsed(fetched.body) };
  };

  const parsed = (body: string): TwimlNode[] => {
    const result = parseTwiml(body);
    if ('error' in result) throw new WalkError(result.error.code, result.error.message);
    return result.verbs;
  };

  try {
    let doc: Document = 'twiml' in source ? { url: null, verbs: parsed(source.twiml) } : await load(source.url, source.method, {});
    let index = 0;
    let first = true;
    for (;;) {
      const verb = doc.verbs[index];
      if (!verb) return { kind: 'end-of-document' };
      index += 1;
      if (verb.name === 'Reject' && first && !deps.isAnswered()) {
        const reason = verb.attrs.reason === 'busy' ? 'busy' : 'rejected';
        deps.trace({ verb: 'Reject', attributes: { reason } });
        return { kind: 'rejected', reason };
      }
      first = false;
      deps.answer();
      const step = await runVerb(deps, verb, doc.url);
      if (step.next === 'end') return step.end;
      if (step.next === 'fetch') {
        redirectsInRow = step.redirect ? redirectsInRow + 1 : 0;
        if (redirectsInRow > MAX_REDIRECTS_IN_ROW) throw new WalkError(11215, `More than ${MAX_REDIRECTS_IN_ROW} Redirects in a row: the TwiML loops.`);
        doc = await load(step.url, step.method, step.extra);
        index = 0;
      } else if (verb.name !== 'Redirect') {
        redirectsInRow = 0;
      }
    }
  } catch (error) {
    if (error instanceof WalkError) {
      deps.trace({ verb: 'error', error: { code: error.code, message: error.message } });
      return { kind: 'error', code: error.code, message: error.message };
    }
    throw error;
  }
}

/** An action or Redirect URL, absolute, against the document it appears in. */
function resolveUrl(target: string, base: string | null): string {
  try {
    return new URL(target, base ?? undefined).toString();
  } catch {
    throw new WalkError(11100, `Invalid URL ${JSON.stringify(target)}${base ? ` (relative to ${base})` : ' in a document given inline (Twiml), which has no URL to be relative to'}`);
  }
}

/** Where a Gather/Record posts: its action, else (Twilio's default) the document's own URL. */
function actionOf(verb: TwimlNode, base: string | null): string | null {
  const action = verb.attrs.action?.trim();
  if (action) return resolveUrl(action, base);
  return base;
}

async function runVerb(deps: WalkerDeps, verb: TwimlNode, base: string | null, within?: string): Promise<Step> {
  const { clock } = deps;
  const name = within ? `${within}/${verb.name}` : verb.name;
  switch (verb.name) {
    case 'Say': {
      deps.trace({ verb: name, attributes: verb.attrs, text: verb.text });
      const loops = loopsOf(verb.attrs.loop);
      for (let i = 0; i < loops; i++) await clock.sleep(Math.max(1, wordsIn(verb.text)) / SAY_WORDS_PER_SECOND);
      return CONTINUE;
    }
    case 'Play': {
      deps.trace({ verb: name, attributes: verb.attrs, text: verb.text });
      const digits = verb.attrs.digits;
      if (digits) {
        await clock.sleep(digits.length * DIGIT_SECONDS);
        return CONTINUE;
      }
      const loops = loopsOf(verb.attrs.loop);
      for (let i = 0; i < loops; i++) await clock.sleep(PLAY_SECONDS);
      return CONTINUE;
    }
    case 'Pause': {
      deps.trace({ verb: name, attributes: verb.attrs });
      await clock.sleep(intAttr(verb.attrs.length, 1));
      return CONTINUE;
    }
    case 'Gather':
      return gather(deps, verb, base);
    case 'Record':
      return record(deps, verb, base);
    case 'Redirect': {
      const url = resolveUrl(verb.text, base);
      deps.trace({ verb: name, attributes: verb.attrs, text: url });
      return { next: 'fetch', url, method: methodAttr(verb.attrs.method), extra: {}, redirect: true };
    }
    case 'Hangup':
      deps.trace({ verb: name });
      return { next: 'end', end: { kind: 'hangup' } };
    case 'Reject':
      // Not the first verb: the call was answered already, so Twilio just hangs up.
      deps.trace({ verb: name, attributes: verb.attrs, note: 'not the first verb: the answered call hangs up' });
      return { next: 'end', end: { kind: 'hangup' } };
    case 'Dial':
      return dial(deps, verb, base);
    case 'Connect':
      if (verb.children.some((c) => c.name === 'ConversationRelay')) return connect(deps, verb, base);
      deps.trace({ verb: name, attributes: verb.attrs, text: verb.text, note: `not emulated by the sandbox (${verb.children.map((c) => `<${c.name}>`).join(', ') || 'no noun'}): the call ends here` });
      return { next: 'end', end: { kind: 'not-emulated', verb: verb.name } };
    case 'Enqueue':
    case 'Leave':
    case 'Refer':
      deps.trace({ verb: name, attributes: verb.attrs, text: verb.text, note: 'not emulated by the sandbox: the call ends here' });
      return { next: 'end', end: { kind: 'not-emulated', verb: verb.name } };
    default:
      deps.trace({ verb: name, attributes: verb.attrs, note: 'not a voice verb the sandbox knows: skipped (Twilio warns 12200)' });
      return CONTINUE;
  }
}

async function gather(deps: WalkerDeps, verb: TwimlNode, base: string | null): Promise<Step> {
  const a = verb.attrs;
  const listens = new Set((a.input ?? 'dtmf').toLowerCase().split(/\s+/));
  const timeout = intAttr(a.timeout, 5);
  const numDigits = a.numDigits !== undefined ? intAttr(a.numDigits, 0) : undefined;
  const finishOnKey = a.finishOnKey ?? '#';
  deps.trace({ verb: 'Gather', attributes: a });
  for (const child of verb.children) {
    if (['Say', 'Play', 'Pause'].includes(child.name)) await runVerb(deps, child, base, 'Gather');
  }
  const input = deps.inputs.take() ?? null;
  let result: Record<string, string> | null = null;
  if (input?.digits !== undefined && input.digits !== '' && !input.silence && listens.has('dtmf')) {
    let digits = input.digits;
    let finishedOnKey = '';
    const stop = finishOnKey ? [...digits].findIndex((d) => finishOnKey.includes(d)) : -1;
    if (stop >= 0 && (numDigits === undefined || stop < numDigits)) {
      finishedOnKey = digits[stop]!;
      digits = digits.slice(0, stop);
    }
    if (numDigits !== undefined && numDigits > 0) digits = digits.slice(0, numDigits);
    await deps.clock.sleep((digits.length + (finishedOnKey ? 1 : 0)) * DIGIT_SECONDS);
    // Twilio times out after the last key when numDigits is not reached and no key finished it.
    if (!finishedOnKey && (numDigits === undefined || digits.length < numDigits)) await deps.clock.sleep(timeout);
    result = { Digits: digits, FinishedOnKey: finishedOnKey };
  } else if (input?.speech !== undefined && !input.silence && listens.has('speech')) {
    await deps.clock.sleep(wordsIn(input.speech) / SAY_WORDS_PER_SECOND + 1);
    result = { SpeechResult: input.speech, Confidence: String(input.confidence ?? DEFAULT_CONFIDENCE) };
  } else {
    await deps.clock.sleep(timeout);
  }
  deps.trace({ verb: 'Gather/input', input, ...(result ? { result } : { note: 'timed out without input' }) });
  const action = actionOf(verb, base);
  if (result) {
    if (!action) return CONTINUE;
    return { next: 'fetch', url: action, method: methodAttr(a.method), extra: result, redirect: false };
  }
  if (a.actionOnEmptyResult === 'true' && action) return { next: 'fetch', url: action, method: methodAttr(a.method), extra: {}, redirect: false };
  return CONTINUE;
}

async function record(deps: WalkerDeps, verb: TwimlNode, base: string | null): Promise<Step> {
  const a = verb.attrs;
  const maxLength = intAttr(a.maxLength, 3600) || 3600;
  const timeout = intAttr(a.timeout, 5);
  const finishOnKey = a.finishOnKey ?? '1234567890*#';
  deps.trace({ verb: 'Record', attributes: a });
  if (a.playBeep !== 'false') await deps.clock.sleep(BEEP_SECONDS);
  const input = deps.inputs.take() ?? null;
  const speaks = input !== null && !input.silence && (input.speech !== undefined || input.talk_seconds !== undefined || !input.digits);
  if (!speaks) {
    await deps.clock.sleep(timeout);
    deps.trace({ verb: 'Record/input', input, note: 'no audio: nothing recorded, the action is not requested' });
    return CONTINUE;
  }
  const talk = Math.min(input.talk_seconds ?? DEFAULT_TALK_SECONDS, maxLength);
  const key = [...(input.digits ?? '')].find((d) => finishOnKey.includes(d));
  const action = actionOf(verb, base);
  const finish = (seconds: number, digits: string): Record<string, string> => {
    const recording = deps.recordings.create({
      callSid: deps.callSid,
      durationSeconds: Math.round(seconds),
      source: 'RecordVerb',
      transcribe: a.transcribe === 'true' || Boolean(a.transcribeCallback),
      ...(input.speech !== undefined && { transcriptionText: input.speech }),
      statusCallback: a.recordingStatusCallback ? resolveUrl(a.recordingStatusCallback, base) : null,
      transcribeCallback: a.transcribeCallback ? resolveUrl(a.transcribeCallback, base) : null,
    });
    const result = {
      RecordingUrl: deps.recordingUrl(deps.recordings.mediaUrl(recording.sid)),
      RecordingSid: recording.sid,
      RecordingDuration: String(Math.round(seconds)),
      Digits: digits,
    };
    deps.trace({ verb: 'Record/input', input, result });
    return result;
  };
  const started = deps.clock.now;
  try {
    await deps.clock.sleep(talk);
    // No key: the recording ends after `timeout` seconds of silence.
    if (key) await deps.clock.sleep(DIGIT_SECONDS);
    else if (talk < maxLength) await deps.clock.sleep(timeout);
  } catch (error) {
    // The caller hung up while recording: Twilio keeps the recording and still requests
    // the action (Digits=hangup), ignoring what it answers.
    if (error instanceof CallInterrupted && error.reason.kind === 'caller-hangup') {
      const result = finish(Math.min(talk, deps.clock.now - started), 'hangup');
      if (action) void deps.fetcher.fetch(action, methodAttr(a.method), { ...deps.callParams(), ...result }).catch(() => undefined);
    }
    throw error;
  }
  const result = finish(talk, key ?? 'hangup');
  if (!action) return CONTINUE;
  return { next: 'fetch', url: action, method: methodAttr(a.method), extra: result, redirect: false };
}

const NOUNS = new Set(['Number', 'Client', 'Sip', 'Queue', 'Conference']);

async function dial(deps: WalkerDeps, verb: TwimlNode, base: string | null): Promise<Step> {
  const a = verb.attrs;
  const noun = verb.children.find((c) => NOUNS.has(c.name));
  const timeoutSeconds = intAttr(a.timeout, DEFAULT_DIAL_TIMEOUT) || DEFAULT_DIAL_TIMEOUT;
  const timeLimitSeconds = intAttr(a.timeLimit, 14_400) || 14_400;
  let result: Record<string, string>;
  if (noun?.name === 'Conference') {
    const n = noun.attrs;
    const flag = (v: string | undefined, fallback: boolean) => (v === undefined ? fallback : v === 'true');
    const joined = deps.conferences.join(noun.text, deps.callSid, {
      muted: flag(n.muted, false),
      startConferenceOnEnter: flag(n.startConferenceOnEnter, true),
      endConferenceOnExit: flag(n.endConferenceOnExit, false),
      record: n.record === 'record-from-start',
      statusCallback: n.statusCallback ? resolveUrl(n.statusCallback, base) : null,
    });
    deps.trace({ verb: 'Dial/Conference', attributes: { ...a, ...n }, text: noun.text, result: { ConferenceSid: joined.conferenceSid } });
    const started = deps.clock.now;
    let how: 'removed' | 'ended';
    try {
      how = await deps.clock.until(joined.left);
    } catch (error) {
      deps.conferences.leave(deps.callSid);
      throw error;
    }
    deps.trace({ verb: 'Dial/Conference/left', result: { how } });
    result = { DialCallStatus: 'completed', DialCallDuration: String(Math.round(deps.clock.now - started)), ConferenceSid: joined.conferenceSid };
  } else {
    const target: DialTarget = noun
      ? { kind: noun.name.toLowerCase() as DialTarget['kind'], address: noun.name === 'Client' && !noun.text.startsWith('client:') ? `client:${noun.text}` : noun.text }
      : { kind: 'number', address: verb.text };
    deps.trace({ verb: noun ? `Dial/${noun.name}` : 'Dial', attributes: a, text: target.address });
    const outcome = await deps.dial(target, { timeoutSeconds, timeLimitSeconds, callerId: a.callerId ?? null });
    result = {
      DialCallStatus: outcome.status,
      DialCallSid: outcome.callSid,
      ...(outcome.status === 'completed' && { DialCallDuration: String(outcome.durationSeconds) }),
    };
    if (outcome.status === 'completed' && a.record?.startsWith('record-from')) {
      const recording = deps.recordings.create({ callSid: deps.callSid, durationSeconds: outcome.durationSeconds, source: 'DialVerb', statusCallback: a.recordingStatusCallback ? resolveUrl(a.recordingStatusCallback, base) : null });
      Object.assign(result, { RecordingUrl: deps.recordingUrl(deps.recordings.mediaUrl(recording.sid)), RecordingSid: recording.sid, RecordingDuration: String(outcome.durationSeconds) });
    }
    deps.trace({ verb: 'Dial/result', result });
  }
  const action = a.action?.trim() ? resolveUrl(a.action, base) : null;
  if (!action) return CONTINUE;
  return { next: 'fetch', url: action, method: methodAttr(a.method), extra: result, redirect: false };
}

const INTERRUPTIBLE: Record<string, Interruptible> = { any: 'any', true: 'any', speech: 'speech', dtmf: 'dtmf', none: 'none', false: 'none' };

async function connect(deps: WalkerDeps, verb: TwimlNode, base: string | null): Promise<Step> {
  const a = verb.attrs;
  const relay = verb.children.find((c) => c.name === 'ConversationRelay')!;
  const r = relay.attrs;
  const action = a.action?.trim() ? resolveUrl(a.action, base) : null;
  const customParameters = Object.fromEntries(relay.children.filter((c) => c.name === 'Parameter' && c.attrs.name).map((c) => [c.attrs.name!, c.attrs.value ?? '']));
  deps.trace({ verb: 'Connect/ConversationRelay', attributes: { ...a, ...r }, text: r.url ?? '', ...(Object.keys(customParameters).length > 0 && { result: customParameters }) });
  const outcome = await runRelaySession(
    {
      clock: deps.clock,
      signal: deps.signal,
      callParams: deps.callParams,
      refusal: (url) => deps.fetcher.refusal(url),
      sign: (url) => deps.fetcher.sign(url),
      nextTurn: () => deps.inputs.takeRelayTurn(),
      record: (entry, error) => deps.trace({ verb: `ConversationRelay/${entry.kind}`, text: entry.text, relay: entry, ...(error && { error }) }),
      trace: (step) => deps.trace(step),
    },
    {
      url: r.url ?? '',
      welcomeGreeting: r.welcomeGreeting?.trim() || null,
      language: r.language?.trim() || 'en-US',
      transcriptionLanguage: r.transcriptionLanguage?.trim() || null,
      interruptible: INTERRUPTIBLE[(r.interruptible ?? 'any').trim().toLowerCase()] ?? 'any',
      dtmfDetection: r.dtmfDetection === 'true',
      customParameters,
    },
  );
  const session = { SessionId: outcome.sessionId };
  switch (outcome.kind) {
    case 'ended': {
      const result = { ...session, SessionStatus: 'completed', SessionDuration: String(outcome.seconds), ...(outcome.handoffData !== undefined && { HandoffData: outcome.handoffData }) };
      deps.trace({ verb: 'Connect/result', result });
      if (!action) return CONTINUE;
      return { next: 'fetch', url: action, method: methodAttr(a.method), extra: result, redirect: false };
    }
    case 'caller-hangup':
      deps.trace({ verb: 'Connect/result', result: { ...session, SessionStatus: 'completed', SessionDuration: String(outcome.seconds) }, note: outcome.idle ? 'the caller hung up after the silence' : 'the caller hung up' });
      return { next: 'end', end: { kind: 'hangup' } };
    case 'closed':
      throw new WalkError(64105, `ConversationRelay: the WebSocket was closed by the server (code ${outcome.code}${outcome.reason ? `, ${outcome.reason}` : ''}): the call ends`);
    case 'failed': {
      const message = `ConversationRelay: unable to connect to ${r.url ?? '(no url)'}: ${outcome.reason}`;
      if (!action) throw new WalkError(outcome.code, message);
      deps.trace({ verb: 'error', error: { code: outcome.code, message } });
      return { next: 'fetch', url: action, method: methodAttr(a.method), extra: { ...session, SessionStatus: 'failed', ErrorCode: String(outcome.code) }, redirect: false };
    }
  }
}
