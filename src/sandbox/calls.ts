/**
 * The Calls resource (2010-04-01): create, fetch, list, update (cancel, hang up, redirect),
 * delete — and the run of each call: dialing, answering, the TwiML walk (twiml-walker.ts),
 * the end. Timing, statuses and callbacks follow call-lifecycle.ts; who answers and what
 * they say follows caller-script.ts. State lives in memory for the sandbox's lifetime.
 */
import type { Account } from './account.js';
import type { CallbackPolicy } from './callback-policy.js';
import {
  answeredByFor,
  billedMinutes,
  CallClock,
  CallInterrupted,
  callPrice,
  type CallStatus,
  CallStatusNotifier,
  type CallTiming,
  DETECTION_SECONDS,
  FINAL_CALL_STATUSES,
  RINGING_AT_SECONDS,
} from './call-lifecycle.js';
import {
  type CallEvent,
  checkTwiml,
  checkTwimlUrl,
  type MachineDetection,
  type TwimlSource,
  validateCreateCall,
} from './call-validation.js';
import { answerOf, type CallerAnswer, CallerInputs, type CallerScript, type CallerScripts } from './caller-script.js';
import { dateFilter } from './date-filter.js';
import type { CallbackPoster } from './messages.js';
import {
  type ConferencesPort,
  type DialOutcome,
  type DialTarget,
  type RecordingsPort,
  type TraceStep,
  type TwimlFetcher,
  walk,
  type WalkEnd,
  type WalkerDeps,
} from './twiml-walker.js';
import { first, newSid, type Params, rfc2822, TwilioError } from './wire.js';

export type CallDirection = 'outbound-api' | 'outbound-dial' | 'inbound';

export interface SandboxCall {
  sid: string;
  parentCallSid: string | null;
  from: string;
  to: string;
  direction: CallDirection;
  status: CallStatus;
  answeredBy: string | null;
  phoneNumberSid: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  endTime: Date | null;
  durationSeconds: number | null;
  price: string | null;
  source: TwimlSource | null;
  timeoutSeconds: number;
  timeLimitSeconds: number;
  record: boolean;
  machineDetection: MachineDetection | null;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  statusCallbackEvents: Set<CallEvent>;
  recordingStatusCallback: string | null;
  script: CallerScript | undefined;
  /** Every step of the TwiML walk; for tests (handle.callTrace), not part of the REST JSON. */
  trace: TraceStep[];
}

/** What the store needs from the rest of the sandbox. */
export interface CallEnvironment {
  account: Account;
  timing: CallTiming;
  webhooks: CallbackPoster;
  fetcher: TwimlFetcher;
  callbackPolicy: CallbackPolicy | undefined;
  scripts: CallerScripts;
  recordings: RecordingsPort;
  conferences: ConferencesPort;
  /** The sandbox's own base URL (known once it listens), for absolute RecordingUrls. */
  publicBaseUrl(): string;
  log(line: string): void;
}

/** How long a dialed person talks when their script does not say (simulated seconds). */
export const DEFAULT_DIAL_TALK_SECONDS = 30;
/** A number with no VoiceUrl: Twilio answers and plays its default message, about this long. */
const DEFAULT_GREETING_SECONDS = 3;
const DEFAULT_WAIT_MS = 10_000;

interface Runtime {
  controller: AbortController;
  clock: CallClock;
  notifier: CallStatusNotifier;
  answeredAt: number | null;
  redirectTo: TwimlSource | null;
  /** One input cursor per call, kept across documents and redirects (the caller does not repeat themselves). */
  inputs: CallerInputs;
  done: Promise<void>;
  resolveDone: () => void;
}

export class CallStore {
  /** Oldest first; listing reverses. */
  private readonly calls: SandboxCall[] = [];
  private readonly bySid = new Map<string, SandboxCall>();
  private readonly runtimes = new Map<string, Runtime>();
  private readonly sequence = new Map<string, number>();
  /** Every call ever created (child legs and deleted calls too), oldest first: a deleted call stays billed (usage.ts). */
  private readonly history: SandboxCall[] = [];
  private closed = false;

  constructor(private readonly env: CallEnvironment) {}

  get(sid: string): SandboxCall | undefined {
    return this.bySid.get(sid);
  }

  require(sid: string): SandboxCall {
    const call = this.bySid.get(sid);
    if (!call) throw new TwilioError(404, 20404, `The requested resource /2010-04-01/Accounts/${this.env.account.sid}/Calls/${sid}.json was not found`);
    return call;
  }

  /** Newest first, as Twilio lists. */
  all(): SandboxCall[] {
    return [...this.calls].reverse();
  }

  listPosition(sid: string): number | undefined {
    const created = this.sequence.get(sid);
    return created === undefined ? undefined : -created;
  }

  /** Every call ever created, deleted ones too, oldest first (read-only; for the usage ledger). */
  everCreated(): readonly SandboxCall[] {
    return this.history;
  }

  create(params: Params): SandboxCall {
    const request = validateCreateCall(params, this.env.account, this.env.callbackPolicy);
    const number = this.env.account.numbers.find((n) => n.phoneNumber === request.from);
    const call = this.remember({
      ...blankCall(),
      from: request.from,
      to: request.to,
      direction: 'outbound-api',
      status: 'queued',
      phoneNumberSid: number?.sid ?? null,
      source: request.source,
      timeoutSeconds: request.timeoutSeconds,
      timeLimitSeconds: request.timeLimitSeconds,
      record: request.record,
      machineDetection: request.machineDetection,
      statusCallback: request.statusCallback,
      statusCallbackMethod: request.statusCallbackMethod,
      statusCallbackEvents: request.statusCallbackEvents,
      recordingStatusCallback: request.recordingStatusCallback,
      script: this.env.scripts.get(request.to),
    });
    const rt = this.runtimeFor(call);
    void this.guard(call, rt, () => this.runOutbound(call, rt));
    return call;
  }

  /**
   * An inbound call from `from` to one of the account's numbers, walking its VoiceUrl.
   * Resolves once the call exists and its walk has started (the VoiceUrl checked against
   * the callback policy; `refused` says why it is not called).
   */
  async createInbound(fields: { from: string; to: string; script?: CallerScript }): Promise<{ call: SandboxCall; voiceUrl: string | null; refused?: string }> {
    const number = this.env.account.numbers.find((n) => n.phoneNumber === fields.to);
    if (!number) throw new TwilioError(400, 21211, `${fields.to} is not one of this account's numbers.`);
    const voiceUrl = number.voiceUrl;
    const call = this.remember({
      ...blankCall(),
      from: fields.from,
      to: fields.to,
      direction: 'inbound',
      status: 'ringing',
      phoneNumberSid: number.sid,
      source: voiceUrl ? { url: voiceUrl, method: number.voiceMethod === 'GET' ? 'GET' : 'POST' } : null,
      // A number's status callback hears only the end of its calls, as on Twilio.
      statusCallback: number.statusCallback,
      statusCallbackEvents: new Set<CallEvent>(['completed']),
      script: fields.script ?? this.env.scripts.get(fields.from),
    });
    const rt = this.runtimeFor(call);
    const refused = voiceUrl ? await this.env.fetcher.refusal(voiceUrl) : undefined;
    void this.guard(call, rt, () => this.runInbound(call, rt, refused));
    return { call, voiceUrl, ...(refused !== undefined && { refused }) };
  }

  /**
   * Twilio's update: `Status=canceled` ends a call still queued or ringing (no effect on
   * one in progress, as Twilio documents); `Status=completed` hangs up (an unanswered call
   * becomes canceled); `Url`/`Twiml` on a live call redirects it (the walk restarts from
   * the new document), on a call not yet answered replaces what it will run. A finished
   * call refuses every update: 21220.
   */
  update(sid: string, params: Params): SandboxCall {
    const call = this.require(sid);
    const rt = this.runtimes.get(sid)!;
    const status = first(params, 'Status')?.trim();
    const url = first(params, 'Url')?.trim() || undefined;
    const twiml = first(params, 'Twiml') || undefined;
    if (status === undefined && url === undefined && twiml === undefined) return call;
    if (status !== undefined && status !== 'canceled' && status !== 'completed') {
      throw new TwilioError(400, 20001, `Invalid Status: ${status}. Allowed values: canceled, completed.`);
    }
    if (FINAL_CALL_STATUSES.has(call.status)) throw new TwilioError(400, 21220, 'Call is not in-progress. Cannot redirect.');
    if (status !== undefined) {
      const unanswered = call.status === 'queued' || call.status === 'ringing';
      if (unanswered) this.finish(call, rt, 'canceled', { kind: 'cancel' });
      else if (status === 'completed') this.finish(call, rt, 'completed', { kind: 'hangup' });
      return call;
    }
    let source: TwimlSource;
    if (twiml !== undefined) {
      checkTwiml(twiml);
      source = { twiml };
    } else {
      const method = (first(params, 'Method') ?? 'POST').toUpperCase();
      if (method !== 'GET' && method !== 'POST') throw new TwilioError(400, 21209, `Method must be either GET or POST, got ${method}.`);
      checkTwimlUrl(url!, this.env.callbackPolicy);
      source = { url: url!, method };
    }
    if (call.status === 'in-progress') {
      rt.redirectTo = source;
      rt.controller.abort({ kind: 'redirect' });
    } else {
      call.source = source;
    }
    call.dateUpdated = new Date();
    return call;
  }

  delete(sid: string): void {
    const call = this.require(sid);
    if (!FINAL_CALL_STATUSES.has(call.status)) throw new TwilioError(400, 20009, 'Cannot delete a call that is not finished: hang it up first (Status=completed).');
    this.bySid.delete(sid);
    this.runtimes.delete(sid);
    this.calls.splice(this.calls.indexOf(call), 1);
  }

  /** Resolves with the call once it reaches a final status; rejects after `timeoutMs`. */
  async waitFor(sid: string, timeoutMs = DEFAULT_WAIT_MS): Promise<SandboxCall> {
    const call = this.require(sid);
    const rt = this.runtimes.get(sid);
    if (!rt || FINAL_CALL_STATUSES.has(call.status)) return call;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        rt.done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`call ${sid} did not finish within ${timeoutMs} ms (status ${call.status})`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return call;
  }

  /** Resolves once the status callbacks queued for this call so far have been sent. */
  callbacksSettled(sid: string): Promise<unknown> {
    return this.runtimes.get(sid)?.notifier.settled() ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    for (const rt of this.runtimes.values()) {
      rt.controller.abort({ kind: 'close' });
      rt.resolveDone();
    }
  }

  // ------------------------------------------------------------ the run of a call

  /** The recording store names Twilio's host; in the sandbox the media is served here. */
  private onThisHost(url: string): string {
    return `${this.env.publicBaseUrl()}${url.replace(/^https:\/\/api\.twilio\.com/, '')}`;
  }

  private remember(call: SandboxCall): SandboxCall {
    this.calls.push(call);
    this.history.push(call);
    this.bySid.set(call.sid, call);
    this.sequence.set(call.sid, this.sequence.size);
    return call;
  }

  private runtimeFor(call: SandboxCall): Runtime {
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const rt: Runtime = {
      controller: new AbortController(),
      clock: new CallClock(this.env.timing.msPerSecond, () => rt.controller.signal),
      notifier: new CallStatusNotifier(
        this.env.account,
        call,
        this.env.webhooks,
        (url, params) => this.env.fetcher.fetch(url, 'GET', params),
        () => this.closed,
      ),
      answeredAt: null,
      redirectTo: null,
      inputs: new CallerInputs(call.script?.inputs ?? [], call.script?.relay_turns),
      done,
      resolveDone,
    };
    this.runtimes.set(call.sid, rt);
    return rt;
  }

  /** Runs a call to its end: interrupts end it as they mean, an unexpected error is logged and fails it. */
  private async guard(call: SandboxCall, rt: Runtime, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (this.closed || FINAL_CALL_STATUSES.has(call.status)) return;
      if (error instanceof CallInterrupted) {
        const kind = error.reason.kind;
        if (kind === 'close') return;
        this.finish(call, rt, rt.answeredAt !== null ? 'completed' : 'canceled', error.reason);
        return;
      }
      this.env.log(`call ${call.sid} failed: ${error instanceof Error ? error.stack : String(error)}`);
      this.finish(call, rt, rt.answeredAt !== null ? 'completed' : 'failed', { kind: 'hangup' });
    } finally {
      rt.resolveDone();
    }
  }

  private at(call: SandboxCall, seconds: number): Date {
    return new Date(call.dateCreated.getTime() + Math.round(seconds * 1000));
  }

  private setStatus(call: SandboxCall, status: CallStatus): void {
    call.status = status;
    call.dateUpdated = new Date();
  }

  private async runOutbound(call: SandboxCall, rt: Runtime): Promise<void> {
    const { clock, notifier } = rt;
    const answer = answerOf(call.to, call.script);
    notifier.notify('initiated', 'initiated', clock.now);
    call.startTime = this.at(call, clock.now);
    await clock.sleep(RINGING_AT_SECONDS);
    if (answer === 'busy' || answer === 'failed') {
      this.finish(call, rt, answer);
      return;
    }
    this.setStatus(call, 'ringing');
    notifier.notify('ringing', 'ringing', clock.now);
    const picksUp = (answer === 'human' || answer === 'machine') && this.env.timing.ringSeconds < call.timeoutSeconds;
    if (!picksUp) {
      await clock.sleep(call.timeoutSeconds);
      this.finish(call, rt, 'no-answer');
      return;
    }
    await clock.sleep(this.env.timing.ringSeconds);
    this.answer(call, rt, answer);
    if (call.answeredBy !== null) await clock.sleep(DETECTION_SECONDS[call.answeredBy as keyof typeof DETECTION_SECONDS]);
    await this.walkCall(call, rt);
  }

  private async runInbound(call: SandboxCall, rt: Runtime, refused: string | undefined): Promise<void> {
    if (refused !== undefined) {
      call.trace.push({ at: rt.clock.now, verb: 'error', error: { code: 11200, message: `VoiceUrl not requested: ${refused}` } });
      this.finish(call, rt, 'failed');
      return;
    }
    if (!call.source) {
      this.answer(call, rt, 'human');
      call.trace.push({ at: rt.clock.now, verb: 'Say', note: "the number has no VoiceUrl: Twilio's default greeting, then hang-up" });
      await rt.clock.sleep(DEFAULT_GREETING_SECONDS);
      this.finish(call, rt, 'completed');
      return;
    }
    await this.walkCall(call, rt);
  }

  private answer(call: SandboxCall, rt: Runtime, answer: CallerAnswer): void {
    if (rt.answeredAt !== null) return;
    const now = rt.clock.now;
    rt.answeredAt = now;
    call.startTime = this.at(call, now);
    call.answeredBy = answeredByFor(answer, call.machineDetection);
    this.setStatus(call, 'in-progress');
    rt.notifier.notify('answered', 'in-progress', now);
    if (call.script?.hangup_after_seconds !== undefined) rt.clock.endsAt(now + call.script.hangup_after_seconds, 'caller-hangup');
    rt.clock.endsAt(now + call.timeLimitSeconds, 'time-limit');
  }

  private async walkCall(call: SandboxCall, rt: Runtime): Promise<void> {
    let source = call.source!;
    for (;;) {
      let end: WalkEnd;
      try {
        end = await walk(this.walkerDeps(call, rt), source);
      } catch (error) {
        if (error instanceof CallInterrupted && error.reason.kind === 'redirect' && rt.redirectTo && !FINAL_CALL_STATUSES.has(call.status)) {
          source = rt.redirectTo;
          rt.redirectTo = null;
          rt.controller = new AbortController();
          call.trace.push({ at: rt.clock.now, verb: 'redirect (REST update)', text: 'url' in source ? source.url : 'Twiml' });
          continue;
        }
        throw error;
      }
      this.endOfWalk(call, rt, end);
      return;
    }
  }

  private endOfWalk(call: SandboxCall, rt: Runtime, end: WalkEnd): void {
    const answered = rt.answeredAt !== null;
    if (end.kind === 'rejected' && !answered) {
      this.finish(call, rt, end.reason === 'busy' ? 'busy' : 'no-answer');
      return;
    }
    if (end.kind === 'error' && !answered) {
      this.finish(call, rt, 'failed');
      return;
    }
    // An inbound call whose document ends before any verb ran is answered and hung up at once.
    if (!answered) this.answer(call, rt, 'human');
    this.finish(call, rt, 'completed');
  }

  private walkerDeps(call: SandboxCall, rt: Runtime): WalkerDeps {
    return {
      callSid: call.sid,
      clock: rt.clock,
      inputs: rt.inputs,
      fetcher: this.env.fetcher,
      signal: () => rt.controller.signal,
      callParams: () => this.callParams(call),
      answer: () => this.answer(call, rt, 'human'),
      isAnswered: () => rt.answeredAt !== null,
      dial: (target, options) => this.dialLeg(call, rt, target, options),
      recordings: this.env.recordings,
      conferences: this.env.conferences,
      recordingUrl: (url) => this.onThisHost(url),
      trace: (step) => call.trace.push({ at: Math.round(rt.clock.now * 1000) / 1000, ...step }),
    };
  }

  private callParams(call: SandboxCall): Record<string, string> {
    return {
      AccountSid: this.env.account.sid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: call.status,
      Called: call.to,
      Caller: call.from,
      Direction: call.direction,
      From: call.from,
      To: call.to,
      ...(call.answeredBy !== null && { AnsweredBy: call.answeredBy }),
      ...(call.parentCallSid !== null && { ParentCallSid: call.parentCallSid }),
    };
  }

  /** A `<Dial>` leg: a child call (direction outbound-dial) answered by the script of its address. */
  private async dialLeg(
    parent: SandboxCall,
    rt: Runtime,
    target: DialTarget,
    options: { timeoutSeconds: number; timeLimitSeconds: number; callerId: string | null },
  ): Promise<DialOutcome> {
    const { clock } = rt;
    const script = this.env.scripts.get(target.address);
    const child = this.remember({
      ...blankCall(),
      parentCallSid: parent.sid,
      from: options.callerId ?? parent.from,
      to: target.address,
      direction: 'outbound-dial',
      status: 'ringing',
      script,
    });
    child.dateCreated = this.at(parent, clock.now);
    child.startTime = child.dateCreated;
    const answer: CallerAnswer = target.kind === 'queue' ? 'no-answer' : answerOf(target.address, script);
    let answeredAt: number | null = null;
    const end = (status: DialOutcome['status']): DialOutcome => {
      const now = clock.now;
      child.status = status;
      child.dateUpdated = new Date();
      if (answeredAt !== null) {
        child.durationSeconds = Math.round(now - answeredAt);
        child.endTime = new Date(child.startTime!.getTime() + child.durationSeconds * 1000);
        child.price = callPrice('outbound-dial', child.to, child.durationSeconds);
      }
      return { status, callSid: child.sid, durationSeconds: child.durationSeconds ?? 0 };
    };
    try {
      if (answer === 'busy' || answer === 'failed') {
        await clock.sleep(RINGING_AT_SECONDS);
        return end(answer);
      }
      if (answer === 'no-answer' || this.env.timing.ringSeconds >= options.timeoutSeconds) {
        await clock.sleep(options.timeoutSeconds);
        return end('no-answer');
      }
      await clock.sleep(this.env.timing.ringSeconds);
      answeredAt = clock.now;
      child.status = 'in-progress';
      child.startTime = this.at(parent, answeredAt);
      await clock.sleep(Math.min(script?.hangup_after_seconds ?? DEFAULT_DIAL_TALK_SECONDS, options.timeLimitSeconds));
      return end('completed');
    } catch (error) {
      // The parent ended first (hang-up, REST, close): the leg ends with it.
      if (!FINAL_CALL_STATUSES.has(child.status)) end(answeredAt !== null ? 'completed' : 'canceled');
      throw error;
    }
  }

  /**
   * Ends a call once: status, times, price, the call recording (Record=true), the
   * `completed` callback; then stops whatever of its run is still going.
   */
  private finish(call: SandboxCall, rt: Runtime, status: CallStatus, interrupt: { kind: string } = { kind: 'hangup' }): void {
    if (FINAL_CALL_STATUSES.has(call.status)) return;
    const now = rt.clock.now;
    this.setStatus(call, status);
    const extra: Record<string, string> = {};
    if (rt.answeredAt !== null) {
      const duration = Math.round(now - rt.answeredAt);
      call.durationSeconds = duration;
      // end_time − start_time is the duration, as a client computing one from the other expects.
      call.endTime = new Date(call.startTime!.getTime() + duration * 1000);
      call.price = callPrice(call.direction, call.to, duration);
      extra.CallDuration = String(duration);
      extra.Duration = String(billedMinutes(duration));
      if (call.record && !this.closed) {
        const recording = this.env.recordings.create({ callSid: call.sid, durationSeconds: duration, source: 'OutboundAPI', statusCallback: call.recordingStatusCallback });
        extra.RecordingUrl = this.onThisHost(this.env.recordings.mediaUrl(recording.sid));
        extra.RecordingSid = recording.sid;
        extra.RecordingDuration = String(duration);
      }
    }
    call.trace.push({ at: Math.round(now * 1000) / 1000, verb: 'end', result: { CallStatus: status, ...(interrupt.kind !== 'hangup' && { by: interrupt.kind }) } });
    rt.notifier.notify('completed', status, now, extra);
    rt.controller.abort(interrupt);
    rt.resolveDone();
  }
}

function blankCall(): SandboxCall {
  const now = new Date();
  return {
    sid: newSid('CA'),
    parentCallSid: null,
    from: '',
    to: '',
    direction: 'outbound-api',
    status: 'queued',
    answeredBy: null,
    phoneNumberSid: null,
    dateCreated: now,
    dateUpdated: now,
    startTime: null,
    endTime: null,
    durationSeconds: null,
    price: null,
    source: null,
    timeoutSeconds: 60,
    timeLimitSeconds: 14_400,
    record: false,
    machineDetection: null,
    statusCallback: null,
    statusCallbackMethod: 'POST',
    statusCallbackEvents: new Set(['completed']),
    recordingStatusCallback: null,
    script: undefined,
    trace: [],
  };
}

/** `(415) 555-0100` for North American numbers, as Twilio formats them; anything else as is. */
export function formatAddress(address: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(address);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : address;
}

export function callJson(accountSid: string, c: SandboxCall) {
  const base = `/2010-04-01/Accounts/${accountSid}/Calls/${c.sid}`;
  return {
    account_sid: accountSid,
    answered_by: c.answeredBy,
    api_version: '2010-04-01',
    caller_name: null,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    direction: c.direction,
    duration: c.durationSeconds === null ? null : String(c.durationSeconds),
    end_time: c.endTime ? rfc2822(c.endTime) : null,
    forwarded_from: null,
    from: c.from,
    from_formatted: formatAddress(c.from),
    group_sid: null,
    parent_call_sid: c.parentCallSid,
    phone_number_sid: c.phoneNumberSid,
    price: c.price,
    price_unit: 'USD',
    queue_time: '0',
    sid: c.sid,
    start_time: c.startTime ? rfc2822(c.startTime) : null,
    status: c.status,
    subresource_uris: {
      feedback: `${base}/Feedback.json`,
      user_defined_messages: `${base}/UserDefinedMessages.json`,
      notifications: `${base}/Notifications.json`,
      recordings: `${base}/Recordings.json`,
      streams: `${base}/Streams.json`,
      payments: `${base}/Payments.json`,
      user_defined_message_subscriptions: `${base}/UserDefinedMessageSubscriptions.json`,
      siprec: `${base}/Siprec.json`,
      events: `${base}/Events.json`,
      feedback_summaries: `/2010-04-01/Accounts/${accountSid}/Calls/FeedbackSummary.json`,
      transcriptions: `${base}/Transcriptions.json`,
    },
    to: c.to,
    to_formatted: formatAddress(c.to),
    trunk_sid: null,
    uri: `${base}.json`,
  };
}

/**
 * The list filters: To, From, Status, ParentCallSid, and StartTime / StartTime< /
 * StartTime> with the same day-or-timestamp rule as Messages' DateSent (a day matches the
 * whole UTC day; `<`/`>` with a day include it). A call never started matches no StartTime
 * filter.
 */
export function callFilter(query: Params): (c: SandboxCall) => boolean {
  const to = first(query, 'To');
  const from = first(query, 'From');
  const status = first(query, 'Status');
  const parent = first(query, 'ParentCallSid');
  const started = dateFilter<SandboxCall>(query, 'StartTime', (c) => c.startTime);
  return (c) =>
    (!to || c.to === to) &&
    (!from || c.from === from) &&
    (!status || c.status === status) &&
    (!parent || c.parentCallSid === parent) &&
    started(c);
}
