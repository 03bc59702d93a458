/**
 * Voice business logic: calls (through the send pipeline: do-not-call, policy, reserve,
 * Twilio, settle), recordings, transcriptions and conferences. Inline TwiML is validated
 * before anything is reserved or sent: a bad document never reaches Twilio. No MCP types here.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { CallRecord, CreateCallRequest } from '../gateway/voice-gateway.js';
import type { SendPipeline } from '../pipeline/send-pipeline.js';
import type { Store } from '../store/store.js';
import { lazy } from '../util/lazy.js';
import {
  type CallView,
  type CompactCallView,
  toCallView,
  toCompactCallView,
  toConferenceView,
  toIvrPath,
  toRecordingView,
  toTranscriptionView,
} from './call-view.js';
import { decodePageToken, encodePageToken } from './page-token.js';

const phone = lazy(() => import('../domain/phone.js'));
const twimlValidator = lazy(() => import('../domain/twiml/validate-twiml.js'));
const twimlBuilder = lazy(() => import('../domain/twiml/build-twiml.js'));

export const CALL_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
export type CallEventName = (typeof CALL_EVENTS)[number];

export interface VoiceDefaults {
  defaultFrom: string | undefined;
  /** This server's receiver for call status callbacks, when it has a URL Twilio can reach. */
  callStatusCallbackUrl: () => Promise<string | undefined>;
}

/** What the voice service needs of hosted IVR flows (the IVR service provides it). */
export interface IvrEntry {
  /** The URL Twilio fetches to start `flow`, or a ToolFailure saying why there is none. */
  startUrl(flow: string): Promise<{ url: string; start: string }>;
}

export interface MakeCallInput {
  to: string;
  from?: string;
  say?: string;
  voice?: string;
  language?: string;
  twiml?: string;
  url?: string;
  ivr_flow?: string;
  record?: boolean;
  timeout?: number;
  machine_detection?: 'Enable' | 'DetectMessageEnd';
  status_callback?: string;
  status_callback_event?: CallEventName[];
  transactional?: boolean;
  allow_duplicate?: boolean;
}

export interface MakeCallResult {
  call_sid: string | null;
  status: string;
  from: string;
  to: string;
  direction: string;
  date_created: string | null;
  what_happens: string;
  estimated_cost_usd: number;
  estimated_minutes: number;
  cost_source?: 'policy' | 'pricing_api' | 'price_table';
  dry_run?: true;
  warnings?: string[];
}

export interface ListCallsInput {
  to?: string;
  from?: string;
  status?: string;
  started_after?: string;
  started_before?: string;
  limit?: number;
  page_token?: string;
}

/** The TwiML issues as one refusal: line, column, what is wrong, the suggestion. */
function refuseTwiml(issues: Array<{ line: number; column: number; message: string; suggestion?: string }>): never {
  const shown = issues.slice(0, 5).map((i) => `line ${i.line}, column ${i.column}: ${i.message}${i.suggestion ? ` (${i.suggestion})` : ''}`);
  throw new ToolFailure({
    message: `The TwiML is not valid, so no call was placed: ${shown.join('; ')}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}.`,
    nextStep: 'Fix the document and call again, or use "say" for a simple message. TwiML voice verbs: Say, Play, Pause, Gather, Record, Dial, Hangup, Redirect, Reject, Connect.',
    extra: { rule: 'twiml', issues },
  });
}

function parseTime(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw new ToolFailure({ message: `${field} is not a time: ${JSON.stringify(value)}.`, nextStep: `Give ${field} as ISO 8601, e.g. "2026-12-01T15:30:00Z".` });
  }
  return at;
}

const words = (text: string) => text.trim().split(/\s+/).filter(Boolean).length;
const preview = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}…` : text);

export class VoiceService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly defaults: VoiceDefaults,
    private readonly pipeline: SendPipeline,
    private readonly store: () => Promise<Store>,
    private readonly ivr: IvrEntry,
  ) {}

  /** What the call will play, as Twilio will get it, and one line saying so. */
  private async content(input: MakeCallInput): Promise<{ request: Pick<CreateCallRequest, 'twiml' | 'url'>; what: string; key: string }> {
    const given = (['say', 'twiml', 'url', 'ivr_flow'] as const).filter((k) => input[k] !== undefined);
    if (given.length !== 1) {
      throw new ToolFailure({
        message: given.length === 0 ? 'Nothing for the call to play: give one of say, twiml, url or ivr_flow.' : `Give exactly one of say, twiml, url or ivr_flow (got ${given.join(', ')}).`,
        nextStep: 'Use "say" for a spoken message, "twiml" for your own TwiML document, "url" for TwiML served by your app, or "ivr_flow" for a flow made with create_ivr_flow.',
      });
    }
    if ((input.voice !== undefined || input.language !== undefined) && input.say === undefined) {
      throw new ToolFailure({ message: 'voice and language apply only to "say".', nextStep: 'Put voice/language on the <Say> of your TwiML, or use "say".' });
    }
    if (input.say !== undefined) {
      const twiml = await (await twimlBuilder()).sayTwiml({ text: input.say, voice: input.voice, language: input.language });
      const issues = (await twimlValidator()).validateTwiml(twiml, { inline: true });
      if (issues.length > 0) refuseTwiml(issues);
      return { request: { twiml }, what: `when answered it says "${preview(input.say)}" (${words(input.say)} words), then hangs up`, key: twiml };
    }
    if (input.twiml !== undefined) {
      const issues = (await twimlValidator()).validateTwiml(input.twiml, { inline: true });
      if (issues.length > 0) refuseTwiml(issues);
      return { request: { twiml: input.twiml }, what: 'when answered it runs the TwiML you gave', key: input.twiml };
    }
    if (input.url !== undefined) {
      return { request: { url: input.url }, what: `when answered Twilio fetches its TwiML from ${input.url}`, key: `url:${input.url}` };
    }
    const { url, start } = await this.ivr.startUrl(input.ivr_flow!);
    return { request: { url }, what: `when answered it runs IVR flow "${input.ivr_flow}" from step "${start}"; get_call shows the caller's path`, key: `ivr:${input.ivr_flow}` };
  }

  async makeCall(input: MakeCallInput, options: { firstContactConfirmed?: boolean } = {}): Promise<MakeCallResult> {
    const { requireE164 } = await phone();
    const fromInput = input.from ?? this.defaults.defaultFrom;
    if (!fromInput) {
      throw new ToolFailure({ message: 'No caller ID: "from" was not given and TWILIO_PHONE_NUMBER is not set.', twilioCode: 21213, nextStep: 'Pass "from" (a voice-capable number of this account) or set TWILIO_PHONE_NUMBER.' });
    }
    const from = requireE164('from', fromInput);
    const to = requireE164('to', input.to, from);
    const { request, what, key } = await this.content(input);

    const ownCallback = input.status_callback === undefined ? await this.defaults.callStatusCallbackUrl() : undefined;
    const statusCallback = input.status_callback ?? ownCallback;
    // Our own receiver asks for every event (get_call shows the history); a caller's URL gets what it asked for.
    const events = input.status_callback_event ?? (ownCallback ? [...CALL_EVENTS] : undefined);
    if (input.status_callback_event && !statusCallback) {
      throw new ToolFailure({ message: 'status_callback_event needs a status_callback URL (this server has no public receiver URL).', nextStep: 'Pass status_callback, or set TWILIO_WEBHOOK_URL.' });
    }
    const createRequest: CreateCallRequest = {
      to,
      from,
      ...request,
      ...(input.record !== undefined && { record: input.record }),
      timeoutSeconds: input.timeout ?? 30,
      ...(input.machine_detection && { machineDetection: input.machine_detection }),
      ...(statusCallback && { statusCallback }),
      ...(events && statusCallback && { statusCallbackEvent: events }),
    };

    const outcome = await this.pipeline.sendCall(
      { to, from, content: key, transactional: input.transactional, allowDuplicate: input.allow_duplicate, firstContactConfirmed: options.firstContactConfirmed },
      () => this.gateway.voice.createCall(createRequest),
    );
    const { decision } = outcome;
    const cost = Math.round(decision.estimatedCost * 10_000) / 10_000;
    const billed = `Billed per minute (estimate $${cost.toFixed(4)} for ${decision.estimatedMinutes} min).`;
    const line = `Calls ${to} from ${from}, ringing up to ${createRequest.timeoutSeconds} s; ${what}${input.record ? '; the call is recorded' : ''}. ${billed}`;
    const warnings = { ...(decision.warnings.length > 0 && { warnings: decision.warnings }), ...(decision.priceSource && { cost_source: decision.priceSource }) };
    if (outcome.dryRun) {
      return { call_sid: null, status: 'dry_run', from, to, direction: 'outbound-api', date_created: null, what_happens: `Dry run, nothing placed: ${line}`, estimated_cost_usd: cost, estimated_minutes: decision.estimatedMinutes, dry_run: true, ...warnings };
    }
    const call = outcome.result;
    return {
      call_sid: call.sid,
      status: call.status,
      from: call.from,
      to: call.to,
      direction: call.direction,
      date_created: call.dateCreated?.toISOString() ?? null,
      what_happens: line,
      estimated_cost_usd: cost,
      estimated_minutes: decision.estimatedMinutes,
      ...warnings,
    };
  }

  async getCall(sid: string): Promise<CallView> {
    const [call, recordings] = await Promise.all([this.gateway.voice.fetchCall(sid), this.gateway.voice.listRecordings({ callSid: sid }, 20)]);
    const view = toCallView(call);
    const store = await this.store();
    const [status, events, session] = await Promise.all([store.getCallStatus(sid), store.listCallEvents(sid), store.findRelaySessionByCall(sid)]);
    const flow = events.find((e) => e.flowName)?.flowName;
    const conversation = session && {
      purpose: session.purpose,
      outcome: session.outcome,
      transcript: (await store.listTranscript(session.sessionId)).map((t) => ({ at: t.at.toISOString(), speaker: t.speaker, kind: t.kind, text: t.text })),
    };
    return {
      ...view,
      ...(status && { status_history: status.history.map((h) => ({ status: h.status, at: h.at.toISOString() })) }),
      ...(recordings.length > 0 && { recordings: recordings.map(toRecordingView) }),
      ...(flow && { ivr_flow: flow }),
      ...(events.length > 0 && { ivr_path: toIvrPath(events) }),
      ...(conversation && { conversation }),
    };
  }

  async listCalls(input: ListCallsInput): Promise<{ calls: CompactCallView[]; next_page_token: string | null }> {
    const resume = input.page_token !== undefined ? decodePageToken(input.page_token) : undefined;
    if (resume) {
      const given = (['to', 'from', 'status', 'started_after', 'started_before'] as const).filter((k) => input[k] !== undefined);
      if (given.length > 0) {
        throw new ToolFailure({
          message: `page_token continues an earlier listing with its own filters; ${given.join(', ')} cannot be given with it.`,
          nextStep: 'Pass only page_token to read the next page, or drop page_token to start a new listing with these filters.',
        });
      }
    }
    const limit = resume?.limit ?? input.limit ?? 20;
    const page = resume
      ? await this.gateway.voice.listCallsAt(resume.url)
      : await this.gateway.voice.listCalls(
          { to: input.to, from: input.from, status: input.status, startedAfter: parseTime('started_after', input.started_after), startedBefore: parseTime('started_before', input.started_before) },
          limit,
        );
    return {
      calls: page.items.map(toCompactCallView),
      next_page_token: page.nextPageUrl ? encodePageToken({ url: page.nextPageUrl, skip: 0, status: undefined, limit }) : null,
    };
  }

  async updateCall(input: { sid: string; action: 'hangup' | 'cancel' | 'redirect'; twiml?: string; url?: string }): Promise<CallView & { note: string }> {
    if (input.action !== 'redirect' && (input.twiml !== undefined || input.url !== undefined)) {
      throw new ToolFailure({ message: 'twiml and url are only for action "redirect".', nextStep: 'Drop them, or use action "redirect".' });
    }
    const current = await this.gateway.voice.fetchCall(input.sid);
    const live = ['queued', 'initiated', 'ringing', 'in-progress'];
    if (!live.includes(current.status)) {
      throw new ToolFailure({
        message: `Call ${input.sid} is "${current.status}": it has ended, so it cannot be ${input.action === 'redirect' ? 'redirected' : 'ended'}.`,
        twilioCode: 21220,
        nextStep: 'Nothing to do; get_call shows how it ended.',
      });
    }
    let updated: CallRecord;
    let note: string;
    if (input.action === 'redirect') {
      if ((input.twiml === undefined) === (input.url === undefined)) {
        throw new ToolFailure({ message: 'redirect needs exactly one of twiml or url.', nextStep: 'Pass the new TwiML document, or the URL serving it.' });
      }
      if (input.twiml !== undefined) {
        const issues = (await twimlValidator()).validateTwiml(input.twiml, { inline: true });
        if (issues.length > 0) refuseTwiml(issues);
      }
      updated = await this.gateway.voice.updateCall(input.sid, input.twiml !== undefined ? { twiml: input.twiml } : { url: input.url! });
      note = 'The call now runs the new TwiML.';
    } else if (input.action === 'cancel') {
      if (current.status === 'in-progress') {
        throw new ToolFailure({ message: `Call ${input.sid} is already answered; cancel only stops a call that is still ringing.`, nextStep: 'Use action "hangup" to end an answered call.' });
      }
      updated = await this.gateway.voice.updateCall(input.sid, { status: 'canceled' });
      note = 'The call was canceled before it was answered.';
    } else {
      updated = await this.gateway.voice.updateCall(input.sid, { status: current.status === 'in-progress' ? 'completed' : 'canceled' });
      note = current.status === 'in-progress' ? 'The call was hung up.' : 'The call had not been answered; it was canceled.';
    }
    return { ...toCallView(updated), note };
  }

  async listRecordings(input: { call_sid?: string; created_after?: string; created_before?: string; limit?: number }) {
    const items = await this.gateway.voice.listRecordings(
      { callSid: input.call_sid, createdAfter: parseTime('created_after', input.created_after), createdBefore: parseTime('created_before', input.created_before) },
      input.limit ?? 20,
    );
    return { recordings: items.map(toRecordingView) };
  }

  async getRecording(sid: string) {
    const [recording, transcriptions] = await Promise.all([this.gateway.voice.fetchRecording(sid), this.gateway.voice.listTranscriptions(sid)]);
    return { ...toRecordingView(recording), transcription_sids: transcriptions.map((t) => t.sid) };
  }

  async deleteRecording(sid: string) {
    const recording = await this.gateway.voice.fetchRecording(sid);
    await this.gateway.voice.deleteRecording(sid);
    return { recording_sid: sid, deleted: true as const, call_sid: recording.callSid, duration_seconds: recording.durationSeconds };
  }

  /** By transcription SID, or the (first) transcription of a recording. */
  async getTranscription(input: { sid?: string; recording_sid?: string }) {
    if ((input.sid === undefined) === (input.recording_sid === undefined)) {
      throw new ToolFailure({ message: 'Give exactly one of sid (TR…) or recording_sid (RE…).', nextStep: 'get_recording lists the transcription SIDs of a recording.' });
    }
    if (input.sid) return toTranscriptionView(await this.gateway.voice.fetchTranscription(input.sid));
    const [first] = await this.gateway.voice.listTranscriptions(input.recording_sid!);
    if (!first) {
      throw new ToolFailure({
        message: `Recording ${input.recording_sid} has no transcription.`,
        nextStep: 'Transcriptions exist only for recordings made with transcription on (Record transcribe="true", or an IVR voicemail with transcribe: true).',
      });
    }
    return toTranscriptionView(first);
  }

  async listConferences(input: { status?: string; friendly_name?: string; include_participants?: boolean; limit?: number }) {
    const conferences = await this.gateway.voice.listConferences({ status: input.status, friendlyName: input.friendly_name }, input.limit ?? 20);
    const views = await Promise.all(
      conferences.map(async (c) => toConferenceView(c, input.include_participants && c.status !== 'completed' ? await this.gateway.voice.listParticipants(c.sid, 50) : undefined)),
    );
    return { conferences: views };
  }

  async updateConference(input: { conference_sid: string; action: 'mute' | 'unmute' | 'hold' | 'unhold' | 'remove' | 'end'; call_sid?: string }) {
    if (input.action === 'end') {
      if (input.call_sid) throw new ToolFailure({ message: '"end" ends the whole conference: call_sid is not used.', nextStep: 'Drop call_sid, or use "remove" to take one participant out.' });
      const ended = await this.gateway.voice.endConference(input.conference_sid);
      return { conference_sid: ended.sid, status: ended.status, note: 'The conference ended; every participant was disconnected.' };
    }
    if (!input.call_sid) {
      throw new ToolFailure({ message: `"${input.action}" acts on one participant: give call_sid.`, nextStep: 'list_conferences with include_participants: true shows the participants.' });
    }
    if (input.action === 'remove') {
      await this.gateway.voice.removeParticipant(input.conference_sid, input.call_sid);
      return { conference_sid: input.conference_sid, call_sid: input.call_sid, removed: true, note: 'The participant was disconnected from the conference.' };
    }
    const change = input.action === 'mute' || input.action === 'unmute' ? { muted: input.action === 'mute' } : { hold: input.action === 'hold' };
    const p = await this.gateway.voice.updateParticipant(input.conference_sid, input.call_sid, change);
    return { conference_sid: input.conference_sid, call_sid: p.callSid, status: p.status, muted: p.muted, hold: p.hold };
  }
}
