/**
 * Voice on the Twilio REST API (2010-04-01): calls, recordings, transcriptions,
 * conferences and participants. Part of the gateway (the only code that talks to Twilio):
 * it gets the shared SDK access from twilio-gateway.ts and returns plain records.
 */
import type TwilioSDK from 'twilio';
import type { CallInstance } from 'twilio/lib/rest/api/v2010/account/call.js';
import type { RecordingInstance } from 'twilio/lib/rest/api/v2010/account/recording.js';
import type { TranscriptionInstance } from 'twilio/lib/rest/api/v2010/account/transcription.js';
import type { ConferenceInstance } from 'twilio/lib/rest/api/v2010/account/conference.js';
import type { ParticipantInstance } from 'twilio/lib/rest/api/v2010/account/conference/participant.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { toNumber } from './sdk-values.js';

export type SdkCall = <T>(work: (client: TwilioSDK.Twilio) => Promise<T>) => Promise<T>;

export interface CallRecord {
  sid: string;
  from: string;
  to: string;
  status: string;
  direction: string;
  durationSeconds: number | null;
  price: string | null;
  priceUnit: string | null;
  answeredBy: string | null;
  parentCallSid: string | null;
  dateCreated: Date | null;
  startTime: Date | null;
  endTime: Date | null;
}

export interface CreateCallRequest {
  to: string;
  from: string;
  /** Exactly one of twiml and url. */
  twiml?: string;
  url?: string;
  record?: boolean;
  timeoutSeconds?: number;
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  statusCallback?: string;
  /** Sent as repeated StatusCallbackEvent keys (the SDK serialises the array that way). */
  statusCallbackEvent?: string[];
  recordingStatusCallback?: string;
}

export interface CallListFilter {
  to?: string;
  from?: string;
  status?: string;
  startedAfter?: Date;
  startedBefore?: Date;
}

export interface Page<T> {
  items: T[];
  nextPageUrl: string | undefined;
}

export interface RecordingRecord {
  sid: string;
  callSid: string | null;
  conferenceSid: string | null;
  status: string;
  durationSeconds: number | null;
  channels: number | null;
  source: string | null;
  price: string | null;
  priceUnit: string | null;
  dateCreated: Date | null;
  startTime: Date | null;
  /** The media without extension; append .mp3 or .wav. */
  mediaUrl: string;
}

export interface TranscriptionRecord {
  sid: string;
  recordingSid: string | null;
  status: string;
  text: string | null;
  durationSeconds: number | null;
  dateCreated: Date | null;
}

export interface ConferenceRecord {
  sid: string;
  friendlyName: string;
  status: string;
  dateCreated: Date | null;
  dateUpdated: Date | null;
}

export interface ParticipantRecord {
  callSid: string;
  conferenceSid: string;
  muted: boolean;
  hold: boolean;
  status: string;
  label: string | null;
}

export interface VoiceGateway {
  createCall(request: CreateCallRequest): Promise<CallRecord>;
  fetchCall(sid: string): Promise<CallRecord>;
  updateCall(sid: string, change: { status?: 'canceled' | 'completed'; twiml?: string; url?: string }): Promise<CallRecord>;
  listCalls(filter: CallListFilter, pageSize: number): Promise<Page<CallRecord>>;
  /** Opens a page by URL; the URL must be one this account's call listing produced. */
  listCallsAt(pageUrl: string): Promise<Page<CallRecord>>;
  listRecordings(filter: { callSid?: string; createdAfter?: Date; createdBefore?: Date }, limit: number): Promise<RecordingRecord[]>;
  fetchRecording(sid: string): Promise<RecordingRecord>;
  deleteRecording(sid: string): Promise<void>;
  /** Transcriptions of a recording (usually one). */
  listTranscriptions(recordingSid: string): Promise<TranscriptionRecord[]>;
  fetchTranscription(sid: string): Promise<TranscriptionRecord>;
  listConferences(filter: { status?: string; friendlyName?: string }, limit: number): Promise<ConferenceRecord[]>;
  endConference(sid: string): Promise<ConferenceRecord>;
  listParticipants(conferenceSid: string, limit: number): Promise<ParticipantRecord[]>;
  updateParticipant(conferenceSid: string, callSid: string, change: { muted?: boolean; hold?: boolean }): Promise<ParticipantRecord>;
  removeParticipant(conferenceSid: string, callSid: string): Promise<void>;
}


const toCall = (c: CallInstance): CallRecord => ({
  sid: c.sid,
  from: c.from,
  to: c.to,
  status: c.status,
  direction: c.direction,
  durationSeconds: toNumber(c.duration),
  price: c.price ?? null,
  priceUnit: c.priceUnit ?? null,
  answeredBy: c.answeredBy ?? null,
  parentCallSid: c.parentCallSid ?? null,
  dateCreated: c.dateCreated ?? null,
  startTime: c.startTime ?? null,
  endTime: c.endTime ?? null,
});

const toRecording = (apiBase: string) => (r: RecordingInstance): RecordingRecord => ({
  sid: r.sid,
  callSid: r.callSid ?? null,
  conferenceSid: r.conferenceSid ?? null,
  status: r.status,
  durationSeconds: toNumber(r.duration),
  channels: toNumber(r.channels),
  source: r.source ?? null,
  price: r.price === null || r.price === undefined ? null : String(r.price),
  priceUnit: r.priceUnit ?? null,
  dateCreated: r.dateCreated ?? null,
  startTime: r.startTime ?? null,
  mediaUrl: `${apiBase}/2010-04-01/Accounts/${r.accountSid}/Recordings/${r.sid}`,
});

const toTranscription = (t: TranscriptionInstance): TranscriptionRecord => ({
  sid: t.sid,
  recordingSid: t.recordingSid ?? null,
  status: t.status,
  text: t.transcriptionText ?? null,
  durationSeconds: toNumber(t.duration),
  dateCreated: t.dateCreated ?? null,
});

const toConference = (c: ConferenceInstance): ConferenceRecord => ({
  sid: c.sid,
  friendlyName: c.friendlyName,
  status: c.status,
  dateCreated: c.dateCreated ?? null,
  dateUpdated: c.dateUpdated ?? null,
});

const toParticipant = (p: ParticipantInstance): ParticipantRecord => ({
  callSid: p.callSid,
  conferenceSid: p.conferenceSid,
  muted: Boolean(p.muted),
  hold: Boolean(p.hold),
  status: p.status,
  label: p.label ?? null,
});

type SdkPage = { instances: CallInstance[]; nextPageUrl?: string };
const toCallPage = (page: SdkPage): Page<CallRecord> => ({ items: page.instances.map(toCall), nextPageUrl: page.nextPageUrl || undefined });

/** `apiBase` is where recording media is fetched from (https://api.twilio.com, or the sandbox). */
export function createVoiceGateway(call: SdkCall, accountSid: string, apiBase: () => string): VoiceGateway {
  const callsPath = `/2010-04-01/Accounts/${accountSid}/Calls.json`;
  return {
    createCall: (r) =>
      call(async (c) =>
        toCall(
          await c.calls.create({
            to: r.to,
            from: r.from,
            ...(r.twiml !== undefined && { twiml: r.twiml }),
            ...(r.url !== undefined && { url: r.url, method: 'POST' }),
            ...(r.record !== undefined && { record: r.record }),
            ...(r.timeoutSeconds !== undefined && { timeout: r.timeoutSeconds }),
            ...(r.machineDetection && { machineDetection: r.machineDetection }),
            ...(r.statusCallback && { statusCallback: r.statusCallback, statusCallbackMethod: 'POST' }),
            ...(r.statusCallbackEvent?.length && { statusCallbackEvent: r.statusCallbackEvent }),
            ...(r.recordingStatusCallback && { recordingStatusCallback: r.recordingStatusCallback, recordingStatusCallbackMethod: 'POST' }),
          }),
        ),
      ),
    fetchCall: (sid) => call(async (c) => toCall(await c.calls(sid).fetch())),
    updateCall: (sid, change) =>
      call(async (c) =>
        toCall(
          await c.calls(sid).update({
            ...(change.status && { status: change.status }),
            ...(change.twiml !== undefined && { twiml: change.twiml }),
            ...(change.url !== undefined && { url: change.url, method: 'POST' }),
          }),
        ),
      ),
    listCalls: (filter, pageSize) =>
      call(async (c) =>
        toCallPage(
          (await c.calls.page({
            pageSize,
            ...(filter.to && { to: filter.to }),
            ...(filter.from && { from: filter.from }),
            ...(filter.status && { status: filter.status as never }),
            ...(filter.startedAfter && { startTimeAfter: filter.startedAfter }),
            ...(filter.startedBefore && { startTimeBefore: filter.startedBefore }),
          })) as unknown as SdkPage,
        ),
      ),
    listCallsAt: (pageUrl) => {
      // A page token comes from the agent: it must never steer credentials to another host or account.
      const url = URL.canParse(pageUrl) ? new URL(pageUrl) : undefined;
      if (!url || url.protocol !== 'https:' || !/^api(\.[a-z0-9-]+)*\.twilio\.com$/.test(url.hostname) || url.pathname !== callsPath) {
        return Promise.reject(new ToolFailure({ message: 'The page_token is not one this server issued for this account.', nextStep: 'Call list_calls again without page_token.' }));
      }
      return call(async (c) => toCallPage((await c.calls.getPage(pageUrl)) as unknown as SdkPage));
    },
    listRecordings: (filter, limit) =>
      call(async (c) =>
        (
          await c.recordings.list({
            limit,
            ...(filter.callSid && { callSid: filter.callSid }),
            ...(filter.createdAfter && { dateCreatedAfter: filter.createdAfter }),
            ...(filter.createdBefore && { dateCreatedBefore: filter.createdBefore }),
          })
        ).map(toRecording(apiBase())),
      ),
    fetchRecording: (sid) => call(async (c) => toRecording(apiBase())(await c.recordings(sid).fetch())),
    deleteRecording: (sid) =>
      call(async (c) => {
        await c.recordings(sid).remove();
      }),
    listTranscriptions: (recordingSid) => call(async (c) => (await c.recordings(recordingSid).transcriptions.list({ limit: 20 })).map(toTranscription as never)),
    fetchTranscription: (sid) => call(async (c) => toTranscription(await c.transcriptions(sid).fetch())),
    listConferences: (filter, limit) =>
      call(async (c) =>
        (
          await c.conferences.list({
            limit,
            ...(filter.status && { status: filter.status as never }),
            ...(filter.friendlyName && { friendlyName: filter.friendlyName }),
          })
        ).map(toConference),
      ),
    endConference: (sid) => call(async (c) => toConference(await c.conferences(sid).update({ status: 'completed' }))),
    listParticipants: (conferenceSid, limit) => call(async (c) => (await c.conferences(conferenceSid).participants.list({ limit })).map(toParticipant)),
    updateParticipant: (conferenceSid, callSid, change) =>
      call(async (c) =>
        toParticipant(
          await c.conferences(conferenceSid).participants(callSid).update({
            ...(change.muted !== undefined && { muted: change.muted }),
            ...(change.hold !== undefined && { hold: change.hold }),
          }),
        ),
      ),
    removeParticipant: (conferenceSid, callSid) =>
      call(async (c) => {
        await c.conferences(conferenceSid).participants(callSid).remove();
      }),
  };
}
