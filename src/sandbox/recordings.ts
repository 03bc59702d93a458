/**
 * Recordings and Transcriptions (2010-04-01). The Calls resource and the TwiML walker
 * create recordings (<Record>, record=true on a call or a <Dial>, a recorded conference);
 * this store keeps them, runs their short lifecycle and serves them over REST with their
 * media bytes.
 *
 *   Recording:      processing ─(recordingReadyMs)→ completed        (absent when 0 s long)
 *   Transcription:  in-progress ─(recording ready + transcriptionReadyMs)→ completed | failed
 *
 * Callbacks, signed by the webhook sender like every other one:
 * - RecordingStatusCallback on the events asked for (default `completed`, as Twilio's):
 *   AccountSid, CallSid, RecordingSid, RecordingUrl, RecordingStatus, RecordingDuration,
 *   RecordingChannels, RecordingStartTime, RecordingSource, ErrorCode (0 unless absent),
 *   plus ConferenceSid for a conference recording.
 * - transcribeCallback when the transcription ends: TranscriptionSid, TranscriptionText
 *   (absent when it failed), TranscriptionStatus, TranscriptionUrl, TranscriptionType,
 *   RecordingSid, RecordingUrl, CallSid, AccountSid, ApiVersion, and whatever call
 *   parameters the caller passes (From, To, CallStatus, Direction…).
 *
 * A transcription fails (status `failed`, text "(blank)" as Twilio's own example shows,
 * nothing billed) when no text was given or the recording is longer than 120 s, Twilio's
 * limit for <Record transcribe>.
 */
import type { Account } from './account.js';
import { AUDIO_CONTENT_TYPE, type AudioFormat, silentAudio } from './audio.js';
import type { CallbackPoster } from './messages.js';
import { dateFilter } from './date-filter.js';
import { paginate } from './paging.js';
import { RECORDING_PER_MINUTE, startedMinutes, TRANSCRIPTION_PER_MINUTE } from './prices.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, rfc2822, TwilioError } from './wire.js';

export type RecordingSource = 'RecordVerb' | 'OutboundAPI' | 'DialVerb' | 'Conference';
export type RecordingStatus = 'processing' | 'completed' | 'absent' | 'deleted';
export type TranscriptionStatus = 'in-progress' | 'completed' | 'failed';

export interface RecordingInput {
  callSid: string;
  durationSeconds: number;
  source: RecordingSource;
  transcribe?: boolean;
  transcriptionText?: string;
  statusCallback?: string | null;
  transcribeCallback?: string | null;
  conferenceSid?: string | null;
  /** recordingStatusCallbackEvent: any of in-progress, completed, absent. Default: completed. */
  statusCallbackEvent?: string[];
  /** 1 (default) or 2 (dual-channel). */
  channels?: number;
  /** When recording started; default now − durationSeconds (the recording has just ended). */
  startTime?: Date;
  /** Call parameters Twilio adds to the transcribeCallback (From, To, CallStatus, Direction…). */
  callParams?: Record<string, string>;
}

export interface SandboxTranscription {
  sid: string;
  recordingSid: string;
  callSid: string;
  status: TranscriptionStatus;
  text: string | null;
  durationSeconds: number;
  price: string | null;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface SandboxRecording {
  sid: string;
  callSid: string;
  conferenceSid: string | null;
  source: RecordingSource;
  status: RecordingStatus;
  durationSeconds: number;
  channels: number;
  startTime: Date;
  price: string | null;
  errorCode: number | null;
  dateCreated: Date;
  dateUpdated: Date;
  /** The transcription's SID when one was asked for. */
  transcriptionSid: string | null;
}

export interface MediaTiming {
  recordingReadyMs: number;
  transcriptionReadyMs: number;
}

export const DEFAULT_MEDIA_TIMING: MediaTiming = { recordingReadyMs: 50, transcriptionReadyMs: 100 };

/** Twilio's limit for <Record transcribe="true">: two minutes. */
export const MAX_TRANSCRIBED_SECONDS = 120;
/** Error 16101: the recording was too short to be processed (status absent). */
export const RECORDING_TOO_SHORT = 16101;

/** Per started minute, from the one price table (prices.ts): recording 0.0025, transcription 0.05 (USD). */
export const recordingPrice = (seconds: number) => (-RECORDING_PER_MINUTE * startedMinutes(seconds)).toFixed(5);
export const transcriptionPrice = (seconds: number) => (-TRANSCRIPTION_PER_MINUTE * startedMinutes(seconds)).toFixed(5);

const API_HOST = 'https://api.twilio.com';

interface Entry {
  recording: SandboxRecording;
  input: RecordingInput;
  timers: NodeJS.Timeout[];
  /** Resolves when the recording and its transcription (if any) are final. */
  settled: Promise<SandboxRecording>;
  settle: () => void;
}

export class RecordingStore {
  private readonly entries = new Map<string, Entry>();
  /** Deleted recordings, still shown with IncludeSoftDeleted=true (Twilio keeps them 40 days). */
  private readonly deleted = new Map<string, SandboxRecording>();
  private readonly transcriptions = new Map<string, SandboxTranscription>();
  /** Every transcription ever made, deleted ones too, oldest first: a deleted one stays billed (usage.ts). */
  private readonly transcriptionHistory: SandboxTranscription[] = [];
  /** Creation order of every SID ever made, deleted ones too, so a page token naming one keeps its place. */
  private readonly sequence = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly account: Account,
    private readonly webhooks: CallbackPoster,
    private readonly timing: MediaTiming = DEFAULT_MEDIA_TIMING,
  ) {}

  create(input: RecordingInput): SandboxRecording {
    const now = new Date();
    const durationSeconds = Math.max(0, Math.round(input.durationSeconds));
    const recording: SandboxRecording = {
      sid: newSid('RE'),
      callSid: input.callSid,
      conferenceSid: input.conferenceSid ?? null,
      source: input.source,
      status: 'processing',
      durationSeconds,
      channels: input.channels === 2 ? 2 : 1,
      startTime: input.startTime ?? new Date(now.getTime() - durationSeconds * 1000),
      price: null,
      errorCode: null,
      dateCreated: now,
      dateUpdated: now,
      transcriptionSid: null,
    };
    let settle!: () => void;
    const settled = new Promise<SandboxRecording>((resolve) => (settle = () => resolve(recording)));
    const entry: Entry = { recording, input, timers: [], settled, settle };
    this.entries.set(recording.sid, entry);
    this.sequence.set(recording.sid, this.sequence.size);

    this.notifyRecording(entry, 'in-progress');
    this.at(entry, this.timing.recordingReadyMs, () => this.finishRecording(entry));
    if (input.transcribe) {
      const transcription: SandboxTranscription = {
        sid: newSid('TR'),
        recordingSid: recording.sid,
        callSid: recording.callSid,
        status: 'in-progress',
        text: null,
        durationSeconds,
        price: null,
        dateCreated: now,
        dateUpdated: now,
      };
      this.transcriptions.set(transcription.sid, transcription);
      this.transcriptionHistory.push(transcription);
      this.sequence.set(transcription.sid, this.sequence.size);
      recording.transcriptionSid = transcription.sid;
      // Transcribing needs the audio: it ends after the recording is ready.
      this.at(entry, this.timing.recordingReadyMs + this.timing.transcriptionReadyMs, () => this.finishTranscription(entry, transcription));
    }
    return recording;
  }

  /** Twilio's RecordingUrl / media_url: the media file's address without an extension (WAV). */
  mediaUrl(sid: string): string {
    return `${API_HOST}/2010-04-01/Accounts/${this.account.sid}/Recordings/${sid}`;
  }

  /** The REST address of a transcription, as TranscriptionUrl names it. */
  transcriptionUrl(recordingSid: string, transcriptionSid: string): string {
    return `${API_HOST}/2010-04-01/Accounts/${this.account.sid}/Recordings/${recordingSid}/Transcriptions/${transcriptionSid}`;
  }

  get(sid: string): SandboxRecording | undefined {
    return this.entries.get(sid)?.recording;
  }

  /** Resolves once the recording (and its transcription, if any) is final; at once for an unknown SID. */
  settled(sid: string): Promise<SandboxRecording | undefined> {
    return this.entries.get(sid)?.settled ?? Promise.resolve(undefined);
  }

  forCall(callSid: string): SandboxRecording[] {
    return this.all().filter((r) => r.callSid === callSid);
  }

  /** Newest first, as Twilio lists. */
  all(): SandboxRecording[] {
    return [...this.entries.values()].map((e) => e.recording).reverse();
  }

  /** Every recording ever made, deleted ones too (read-only; for the usage ledger). */
  everCreated(): SandboxRecording[] {
    return [...this.entries.values()].map((e) => e.recording).concat([...this.deleted.values()]);
  }

  /** Every transcription ever made, deleted ones too, oldest first (read-only; for the usage ledger). */
  transcriptionsEverCreated(): readonly SandboxTranscription[] {
    return this.transcriptionHistory;
  }

  transcriptionList(): SandboxTranscription[] {
    return [...this.transcriptions.values()].reverse();
  }

  getTranscription(sid: string): SandboxTranscription | undefined {
    return this.transcriptions.get(sid);
  }

  /** Position in a newest-first listing, for page tokens (paging.ts). */
  listPosition(sid: string): number | undefined {
    const created = this.sequence.get(sid);
    return created === undefined ? undefined : -created;
  }

  requireRecording(sid: string, path: string, includeSoftDeleted = false): SandboxRecording {
    const recording = this.entries.get(sid)?.recording ?? (includeSoftDeleted ? this.deleted.get(sid) : undefined);
    if (!recording) throw notFound(path);
    return recording;
  }

  requireTranscription(sid: string, path: string): SandboxTranscription {
    const transcription = this.transcriptions.get(sid);
    if (!transcription) throw notFound(path);
    return transcription;
  }

  deleteRecording(sid: string, path: string): void {
    const entry = this.entries.get(sid);
    if (!entry) throw notFound(path);
    this.clearTimers(entry);
    this.entries.delete(sid);
    entry.recording.status = 'deleted';
    entry.recording.dateUpdated = new Date();
    this.deleted.set(sid, entry.recording);
    // An unfinished transcription cannot finish without its audio.
    const transcription = entry.recording.transcriptionSid ? this.transcriptions.get(entry.recording.transcriptionSid) : undefined;
    if (transcription?.status === 'in-progress') this.transcriptions.delete(transcription.sid);
    entry.settle();
  }

  deleteTranscription(sid: string, path: string): void {
    if (!this.transcriptions.delete(sid)) throw notFound(path);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) {
      this.clearTimers(entry);
      entry.settle();
    }
  }

  private finishRecording(entry: Entry): void {
    const { recording } = entry;
    recording.dateUpdated = new Date();
    if (recording.durationSeconds === 0) {
      recording.status = 'absent';
      recording.errorCode = RECORDING_TOO_SHORT;
      this.notifyRecording(entry, 'absent');
    } else {
      recording.status = 'completed';
      recording.price = recordingPrice(recording.durationSeconds);
      this.notifyRecording(entry, 'completed');
    }
    if (!recording.transcriptionSid) entry.settle();
  }

  private finishTranscription(entry: Entry, transcription: SandboxTranscription): void {
    const text = entry.input.transcriptionText;
    const ok = entry.recording.status === 'completed' && !!text && transcription.durationSeconds <= MAX_TRANSCRIBED_SECONDS;
    transcription.status = ok ? 'completed' : 'failed';
    transcription.text = ok ? text! : '(blank)';
    transcription.price = ok ? transcriptionPrice(transcription.durationSeconds) : null;
    transcription.dateUpdated = new Date();
    const url = entry.input.transcribeCallback;
    if (url && !this.closed) {
      const params: Record<string, string> = {
        ...entry.input.callParams,
        AccountSid: this.account.sid,
        ApiVersion: '2010-04-01',
        CallSid: entry.recording.callSid,
        RecordingSid: entry.recording.sid,
        RecordingUrl: this.mediaUrl(entry.recording.sid),
        TranscriptionSid: transcription.sid,
        TranscriptionStatus: transcription.status,
        TranscriptionType: 'fast',
        TranscriptionUrl: this.transcriptionUrl(entry.recording.sid, transcription.sid),
      };
      if (ok) params.TranscriptionText = transcription.text;
      void this.webhooks.post(url, params).catch(() => undefined);
    }
    entry.settle();
  }

  private notifyRecording(entry: Entry, status: 'in-progress' | 'completed' | 'absent'): void {
    const url = entry.input.statusCallback;
    const events = entry.input.statusCallbackEvent ?? ['completed'];
    if (!url || this.closed || !events.includes(status)) return;
    const { recording } = entry;
    const params: Record<string, string> = {
      AccountSid: this.account.sid,
      CallSid: recording.callSid,
      RecordingSid: recording.sid,
      RecordingUrl: this.mediaUrl(recording.sid),
      RecordingStatus: status,
      RecordingChannels: String(recording.channels),
      RecordingStartTime: rfc2822(recording.startTime),
      RecordingSource: recording.source,
      ErrorCode: String(recording.errorCode ?? 0),
    };
    // The length is known once the file is: not on in-progress.
    if (status !== 'in-progress') params.RecordingDuration = String(recording.durationSeconds);
    if (recording.conferenceSid) params.ConferenceSid = recording.conferenceSid;
    void this.webhooks.post(url, params).catch(() => undefined);
  }

  private at(entry: Entry, delayMs: number, action: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      entry.timers = entry.timers.filter((t) => t !== timer);
      action();
    }, Math.max(0, delayMs));
    timer.unref();
    entry.timers.push(timer);
  }

  private clearTimers(entry: Entry): void {
    for (const timer of entry.timers) clearTimeout(timer);
    entry.timers = [];
  }
}

function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

const completed = (r: SandboxRecording) => r.status === 'completed';

export function recordingJson(store: RecordingStore, accountSid: string, r: SandboxRecording) {
  const base = `/2010-04-01/Accounts/${accountSid}/Recordings/${r.sid}`;
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    call_sid: r.callSid,
    conference_sid: r.conferenceSid,
    date_created: rfc2822(r.dateCreated),
    date_updated: rfc2822(r.dateUpdated),
    start_time: rfc2822(r.startTime),
    duration: String(r.durationSeconds),
    sid: r.sid,
    price: r.price,
    // Twilio leaves the unit null until there is a price.
    price_unit: r.price === null ? null : 'USD',
    status: r.status,
    channels: r.channels,
    source: r.source,
    error_code: r.errorCode,
    uri: `${base}.json`,
    encryption_details: null,
    subresource_uris: {
      add_on_results: `${base}/AddOnResults.json`,
      transcriptions: `${base}/Transcriptions.json`,
    },
    media_url: store.mediaUrl(r.sid),
  };
}

/**
 * The same recording as the Calls subresource shows it (api.v2010.account.call.call_recording):
 * no media_url nor subresource_uris, a `track`, and a URI under the call.
 */
export function callRecordingJson(accountSid: string, r: SandboxRecording) {
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    call_sid: r.callSid,
    conference_sid: r.conferenceSid,
    date_created: rfc2822(r.dateCreated),
    date_updated: rfc2822(r.dateUpdated),
    start_time: rfc2822(r.startTime),
    duration: String(r.durationSeconds),
    sid: r.sid,
    // A string as Twilio sends it (its spec says number, its own examples show "-0.0025").
    price: r.price,
    uri: `/2010-04-01/Accounts/${accountSid}/Calls/${r.callSid}/Recordings/${r.sid}.json`,
    encryption_details: null,
    price_unit: r.price === null ? null : 'USD',
    status: r.status,
    channels: r.channels,
    source: r.source,
    error_code: r.errorCode,
    track: 'both',
  };
}

export function transcriptionJson(accountSid: string, t: SandboxTranscription) {
  return {
    account_sid: accountSid,
    // Transcriptions still report the API version they come from, as Twilio's examples show.
    api_version: '2008-08-01',
    date_created: rfc2822(t.dateCreated),
    date_updated: rfc2822(t.dateUpdated),
    duration: String(t.durationSeconds),
    // A string as Twilio sends it (its spec says number, its own examples show "-0.05000").
    price: t.price,
    price_unit: 'USD',
    recording_sid: t.recordingSid,
    sid: t.sid,
    status: t.status,
    transcription_text: t.text,
    type: 'fast',
    uri: `/2010-04-01/Accounts/${accountSid}/Transcriptions/${t.sid}.json`,
  };
}


const SID = '[0-9a-fA-F]{32}';
const RECORDING_PATH = new RegExp(`^/Recordings/(RE${SID})(\\.json|\\.wav|\\.mp3|)$`);
const RECORDING_TRANSCRIPTIONS_PATH = new RegExp(`^/Recordings/(RE${SID})/Transcriptions(\\.json|/(TR${SID})\\.json)$`);
const TRANSCRIPTION_PATH = new RegExp(`^/Transcriptions/(TR${SID})\\.json$`);
const CALL_RECORDINGS_PATH = new RegExp(`^/Calls/(CA${SID})/Recordings(\\.json|/(RE${SID})\\.json)$`);

function mediaReply(format: AudioFormat, recording: SandboxRecording, path: string): Reply {
  // No file until it is processed; an absent recording never has one.
  if (!completed(recording)) throw notFound(path);
  const body = silentAudio(format, recording.durationSeconds);
  return { status: 200, body, headers: { 'content-type': AUDIO_CONTENT_TYPE[format], 'content-length': String(body.length) } };
}

/**
 * The Recordings and Transcriptions routes under `/2010-04-01/Accounts/{AccountSid}`.
 * `rest` is the path after the account; undefined means "not one of these paths/methods"
 * (e.g. POST /Calls/{CallSid}/Recordings.json, which belongs to the Calls resource).
 * Media replies carry a Buffer body with their own content type.
 */
export function recordingsRoute(
  store: RecordingStore,
  accountSid: string,
  method: string,
  rest: string,
  query: Params,
  _form: Params,
): Reply | undefined {
  const base = `/2010-04-01/Accounts/${accountSid}`;
  const path = `${base}${rest}`;
  const positionOf = (sid: string) => store.listPosition(sid);
  const toJson = (r: SandboxRecording) => recordingJson(store, accountSid, r);

  if (rest === '/Recordings.json') {
    if (method !== 'GET') return undefined;
    const callSid = first(query, 'CallSid');
    const conferenceSid = first(query, 'ConferenceSid');
    const created = dateFilter<SandboxRecording>(query, 'DateCreated', (r) => r.dateCreated);
    const items = store.all().filter((r) => (!callSid || r.callSid === callSid) && (!conferenceSid || r.conferenceSid === conferenceSid) && created(r));
    return { status: 200, body: paginate(items, query, `${base}/Recordings.json`, 'recordings', toJson, { positionOf }) };
  }

  const recordingMatch = RECORDING_PATH.exec(rest);
  if (recordingMatch) {
    const [, sid, tail] = recordingMatch as unknown as [string, string, string];
    if (tail === '.json') {
      if (method === 'GET') {
        const includeSoftDeleted = first(query, 'IncludeSoftDeleted') === 'true';
        return { status: 200, body: toJson(store.requireRecording(sid, path, includeSoftDeleted)) };
      }
      if (method === 'DELETE') {
        store.deleteRecording(sid, path);
        return { status: 204 };
      }
      return undefined;
    }
    if (method !== 'GET') return undefined;
    // Without an extension Twilio serves WAV.
    return mediaReply(tail === '.mp3' ? 'mp3' : 'wav', store.requireRecording(sid, path), path);
  }

  const recordingTranscriptions = RECORDING_TRANSCRIPTIONS_PATH.exec(rest);
  if (recordingTranscriptions) {
    const [, recordingSid, tail, transcriptionSid] = recordingTranscriptions as unknown as [string, string, string, string | undefined];
    const recording = store.requireRecording(recordingSid, path);
    const mine = store.transcriptionList().filter((t) => t.recordingSid === recording.sid);
    if (tail === '.json') {
      if (method !== 'GET') return undefined;
      return {
        status: 200,
        body: paginate(mine, query, `${base}/Recordings/${recordingSid}/Transcriptions.json`, 'transcriptions', (t) => transcriptionJson(accountSid, t), { positionOf }),
      };
    }
    const transcription = mine.find((t) => t.sid === transcriptionSid);
    if (!transcription) throw notFound(path);
    if (method === 'GET') return { status: 200, body: transcriptionJson(accountSid, transcription) };
    if (method === 'DELETE') {
      store.deleteTranscription(transcription.sid, path);
      return { status: 204 };
    }
    return undefined;
  }

  if (rest === '/Transcriptions.json') {
    if (method !== 'GET') return undefined;
    return { status: 200, body: paginate(store.transcriptionList(), query, `${base}/Transcriptions.json`, 'transcriptions', (t) => transcriptionJson(accountSid, t), { positionOf }) };
  }

  const transcriptionMatch = TRANSCRIPTION_PATH.exec(rest);
  if (transcriptionMatch) {
    const sid = transcriptionMatch[1]!;
    if (method === 'GET') return { status: 200, body: transcriptionJson(accountSid, store.requireTranscription(sid, path)) };
    if (method === 'DELETE') {
      store.deleteTranscription(sid, path);
      return { status: 204 };
    }
    return undefined;
  }

  const callRecordings = CALL_RECORDINGS_PATH.exec(rest);
  if (callRecordings) {
    const [, callSid, tail, recordingSid] = callRecordings as unknown as [string, string, string, string | undefined];
    if (tail === '.json') {
      // POST here starts a recording on a live call: the Calls resource's business.
      if (method !== 'GET') return undefined;
      const created = dateFilter<SandboxRecording>(query, 'DateCreated', (r) => r.dateCreated);
      const items = store.forCall(callSid).filter(created);
      return {
        status: 200,
        body: paginate(items, query, `${base}/Calls/${callSid}/Recordings.json`, 'recordings', (r) => callRecordingJson(accountSid, r), { positionOf }),
      };
    }
    if (method !== 'GET' && method !== 'DELETE') return undefined;
    const recording = store.get(recordingSid!);
    if (!recording || recording.callSid !== callSid) throw notFound(path);
    if (method === 'GET') return { status: 200, body: callRecordingJson(accountSid, recording) };
    store.deleteRecording(recording.sid, path);
    return { status: 204 };
  }

  return undefined;
}
