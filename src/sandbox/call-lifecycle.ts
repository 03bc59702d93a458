/**
 * How a sandbox call unfolds in time: statuses, the simulated clock, signed status
 * callbacks, answering-machine detection, prices.
 *
 *   Outbound (REST):  queued ─→ (initiated) ─→ ringing ─→ in-progress ─→ completed
 *                                          ├─→ busy | failed        (never rings)
 *                                          └─→ no-answer            (after Timeout)
 *                     queued | ringing ─→ canceled (REST Status=canceled, or completed)
 *   Inbound:          ringing ─→ in-progress ─→ completed, or busy / no-answer (<Reject>)
 *
 * `initiated` is a status-callback event only: the resource stays `queued` until it rings
 * (Twilio's Call status enum has no `initiated`).
 *
 * TIME. Each call runs on its own simulated clock, compressed into real time by
 * `msPerSecond` (default 10 ms per simulated second): initiated at 0 s, ringing at 1 s, a
 * callee answers `ringSeconds` later (default 4), then the TwiML takes as long as its verbs
 * do (Say: words / 2.5 s; Play: 5 s; Pause: its length; …). A whole simple call takes well
 * under a second of real time. `duration`, `start_time`, `end_time` and the callbacks'
 * `Timestamp` are simulated: `start_time` is the answer (or, unanswered, the dial) time,
 * `end_time - start_time = duration`, both counted from `date_created`.
 *
 * MACHINE DETECTION (MachineDetection=Enable | DetectMessageEnd). At answer, `answered_by`
 * becomes `human`, or for a machine `machine_start` (Enable) / `machine_end_beep`
 * (DetectMessageEnd); detection takes 2 s (human), 3 s (machine_start) or 12 s (until the
 * greeting's beep) before the TwiML is fetched, with `AnsweredBy` among its parameters.
 * Without detection `answered_by` stays null.
 *
 * STATUS CALLBACKS go to StatusCallback for each StatusCallbackEvent asked for (default:
 * completed only): initiated (CallStatus=initiated), ringing, answered (in-progress),
 * completed (the final status: completed, busy, no-answer, failed or canceled). Parameters:
 * CallSid, AccountSid, From, To, CallStatus, ApiVersion, Direction, Caller, Called,
 * Timestamp (RFC 2822), CallbackSource=call-progress-events, SequenceNumber (0, 1, 2, …
 * per call, in the order sent), AnsweredBy when detected; on completed CallDuration
 * (seconds) and Duration (billed minutes), and RecordingUrl/RecordingSid/RecordingDuration
 * when Record=true. They are sent one after the other (each waits for the previous one),
 * signed like every webhook; StatusCallbackMethod=GET puts them in the query.
 *
 * PRICE (negative string, five decimals, USD; null until the call ends, and for calls that
 * were never answered): per started minute, 0.0140 outbound to +1, 0.1000 elsewhere, 0.0085
 * inbound.
 */
import type { Account } from './account.js';
import type { CallEvent, MachineDetection } from './call-validation.js';
import type { CallerAnswer } from './caller-script.js';
import type { CallbackPoster } from './messages.js';
import { ratesForAddress, startedMinutes } from './prices.js';
import { rfc2822 } from './wire.js';

export interface CallTiming {
  /** Real milliseconds per simulated second. */
  msPerSecond: number;
  /** Simulated seconds a callee lets it ring before answering. */
  ringSeconds: number;
  /** Passed to the recordings store: real ms until a recording is `completed`. */
  recordingReadyMs: number;
  /** Passed to the recordings store: real ms until a transcription is ready. */
  transcriptionReadyMs: number;
}

export const DEFAULT_CALL_TIMING: CallTiming = { msPerSecond: 10, ringSeconds: 4, recordingReadyMs: 50, transcriptionReadyMs: 150 };

export function normalizeCallTiming(partial: Partial<CallTiming> = {}): CallTiming {
  const pick = (key: keyof CallTiming) => {
    const v = partial[key];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : DEFAULT_CALL_TIMING[key];
  };
  return { msPerSecond: pick('msPerSecond'), ringSeconds: pick('ringSeconds'), recordingReadyMs: pick('recordingReadyMs'), transcriptionReadyMs: pick('transcriptionReadyMs') };
}

/** Simulated seconds from create to each step of dialing out. */
export const INITIATED_AT_SECONDS = 0;
export const RINGING_AT_SECONDS = 1;
export const DETECTION_SECONDS = { human: 2, machine_start: 3, machine_end_beep: 12 } as const;

export type CallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';
export const FINAL_CALL_STATUSES = new Set<CallStatus>(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

/** `answered_by` at answer: only with detection; a machine's value depends on the mode. */
export function answeredByFor(answer: CallerAnswer, detection: MachineDetection | null): 'human' | 'machine_start' | 'machine_end_beep' | null {
  if (detection === null) return null;
  if (answer !== 'machine') return 'human';
  return detection === 'Enable' ? 'machine_start' : 'machine_end_beep';
}

/** Per started minute (prices.ts); an answered call of 0 seconds still bills its first minute. */
export function callPrice(direction: string, to: string, durationSeconds: number): string {
  const rates = ratesForAddress(to);
  const rate = direction === 'inbound' ? rates.voiceInboundPerMinute : rates.voiceOutboundPerMinute;
  return (-(startedMinutes(durationSeconds) * rate)).toFixed(5);
}

export const billedMinutes = startedMinutes;

/** Why a call's run stops early: REST, the caller, the time limit, or the sandbox closing. */
export type Interrupt =
  | { kind: 'hangup' }
  | { kind: 'cancel' }
  | { kind: 'caller-hangup' }
  | { kind: 'time-limit' }
  | { kind: 'redirect' }
  | { kind: 'close' };

export class CallInterrupted extends Error {
  constructor(readonly reason: Interrupt) {
    super(`call interrupted: ${reason.kind}`);
  }
}

const interruptOf = (signal: AbortSignal): CallInterrupted =>
  new CallInterrupted(signal.reason && typeof signal.reason === 'object' && 'kind' in signal.reason ? (signal.reason as Interrupt) : { kind: 'close' });

/**
 * A call's simulated clock. `sleep` advances it in compressed real time; an abort of the
 * call's signal (REST update, close) cuts a sleep short and counts only what elapsed;
 * `endsAt` (the caller's hangup, the time limit) is a wall no sleep crosses: reaching it
 * throws CallInterrupted.
 */
export class CallClock {
  /** Simulated seconds since the call was created. */
  private elapsed = 0;
  private waitingSince: number | undefined;
  private end: { at: number; kind: 'caller-hangup' | 'time-limit' } | undefined;

  constructor(
    private readonly msPerSecond: number,
    private readonly signal: () => AbortSignal,
  ) {}

  /** Now, counting a sleep in progress. */
  get now(): number {
    if (this.waitingSince === undefined || this.msPerSecond === 0) return this.elapsed;
    return this.elapsed + (Date.now() - this.waitingSince) / this.msPerSecond;
  }

  /** The call ends at `at` (simulated seconds since create), whichever comes first. */
  endsAt(at: number, kind: 'caller-hangup' | 'time-limit'): void {
    if (!this.end || at < this.end.at) this.end = { at, kind };
  }

  async sleep(seconds: number): Promise<void> {
    const signal = this.signal();
    if (signal.aborted) throw interruptOf(signal);
    let target = this.elapsed + Math.max(0, seconds);
    const wall = this.end && target >= this.end.at ? this.end : undefined;
    if (wall) target = Math.max(this.elapsed, wall.at);
    await this.wait(target - this.elapsed, signal);
    this.elapsed = target;
    if (wall) throw new CallInterrupted({ kind: wall.kind });
  }

  /** Waits for `promise` in real time, still bounded by the call's end and its signal. */
  async until<T>(promise: Promise<T>): Promise<T> {
    const signal = this.signal();
    if (signal.aborted) throw interruptOf(signal);
    const wall = this.end;
    const limitSeconds = wall ? Math.max(0, wall.at - this.elapsed) : undefined;
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    this.waitingSince = start;
    try {
      return await new Promise<T>((resolve, reject) => {
        onAbort = () => reject(interruptOf(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        if (limitSeconds !== undefined) {
          timer = setTimeout(() => reject(new CallInterrupted({ kind: wall!.kind })), limitSeconds * this.msPerSecond);
          timer.unref();
        }
        promise.then(resolve, reject);
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      this.waitingSince = undefined;
      const spent = this.msPerSecond === 0 ? 0 : (Date.now() - start) / this.msPerSecond;
      this.elapsed += limitSeconds !== undefined ? Math.min(spent, limitSeconds) : spent;
    }
  }

  private wait(seconds: number, signal: AbortSignal): Promise<void> {
    const start = Date.now();
    this.waitingSince = start;
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        this.waitingSince = undefined;
      };
      const onAbort = () => {
        clearTimeout(timer);
        done();
        if (this.msPerSecond > 0) this.elapsed += Math.min(seconds, (Date.now() - start) / this.msPerSecond);
        reject(interruptOf(signal));
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, seconds * this.msPerSecond);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** What a status callback needs to know about its call. */
export interface NotifiedCall {
  sid: string;
  from: string;
  to: string;
  direction: string;
  answeredBy: string | null;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  statusCallbackEvents: Set<CallEvent>;
  dateCreated: Date;
}

/** A signed GET (StatusCallbackMethod=GET); the POST path reuses the webhook sender. */
export type SignedGet = (url: string, params: Record<string, string>) => Promise<unknown>;

/** Sends one call's status callbacks in order, numbering them as Twilio does. */
export class CallStatusNotifier {
  private sequence = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly account: Account,
    private readonly call: NotifiedCall,
    private readonly poster: CallbackPoster,
    private readonly get: SignedGet,
    private readonly isClosed: () => boolean,
  ) {}

  /** `at`: simulated seconds since create, for Timestamp. */
  notify(event: CallEvent, callStatus: string, at: number, extra: Record<string, string> = {}): void {
    const { call } = this;
    if (!call.statusCallback || !call.statusCallbackEvents.has(event) || this.isClosed()) return;
    const params: Record<string, string> = {
      CallSid: call.sid,
      AccountSid: this.account.sid,
      From: call.from,
      To: call.to,
      Caller: call.from,
      Called: call.to,
      CallStatus: callStatus,
      ApiVersion: '2010-04-01',
      Direction: call.direction,
      Timestamp: rfc2822(new Date(call.dateCreated.getTime() + at * 1000)),
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(this.sequence++),
      ...(call.answeredBy !== null && { AnsweredBy: call.answeredBy }),
      ...extra,
    };
    const url = call.statusCallback;
    const send = call.statusCallbackMethod === 'GET' ? () => this.get(url, params) : () => this.poster.post(url, params);
    this.chain = this.chain.then(send).catch(() => undefined);
  }

  /** Resolves once every callback queued so far has been sent (or dropped). */
  settled(): Promise<unknown> {
    return this.chain;
  }
}

