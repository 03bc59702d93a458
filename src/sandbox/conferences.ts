/**
 * Conferences and their Participants (2010-04-01). Calls join through the TwiML walker
 * (`<Dial><Conference>`) with join(); REST reads them, mutes, holds and removes
 * participants, and ends a conference.
 *
 *   init ─(a participant with startConferenceOnEnter joins)→ in-progress ─→ completed
 *
 * A conference is completed when its last participant leaves or is removed, when one with
 * endConferenceOnExit leaves or is removed, or with `Status=completed` over REST; then every
 * remaining participant's `left` resolves 'ended' and, if any joiner asked for `record`, a
 * Recording (source Conference) of the whole conference is made. A completed conference
 * lists no participants (Twilio keeps no history there) and a new join() with the same
 * name starts a new conference.
 *
 * Status callbacks go to the first statusCallback a joiner gave, for the events asked for
 * (TwiML names: start end join leave mute hold; default start and end when none are named).
 * Parameters: AccountSid, ConferenceSid, FriendlyName, StatusCallbackEvent, Timestamp
 * (RFC 2822), SequenceNumber (per conference, from 1); participant events add CallSid,
 * Muted, Hold, Coaching, EndConferenceOnExit, StartConferenceOnEnter; conference-end adds
 * ReasonConferenceEnded and CallSidEndingConference.
 */
import type { Account } from './account.js';
import type { CallbackPoster } from './messages.js';
import { paginate } from './paging.js';
import { dateFilter } from './date-filter.js';
import type { RecordingStore, SandboxRecording } from './recordings.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, rfc2822, TwilioError } from './wire.js';

export type ConferenceStatus = 'init' | 'in-progress' | 'completed';
export type ConferenceEndReason =
  | 'conference-ended-via-api'
  | 'participant-with-end-conference-on-exit-left'
  | 'participant-with-end-conference-on-exit-kicked'
  | 'last-participant-kicked'
  | 'last-participant-left';
export type LeftHow = 'removed' | 'ended';

export interface JoinOptions {
  muted?: boolean;
  startConferenceOnEnter?: boolean;
  endConferenceOnExit?: boolean;
  record?: boolean;
  statusCallback?: string | null;
  statusCallbackEvent?: string[];
  /** Where the conference recording's status callbacks go (TwiML recordingStatusCallback). */
  recordingStatusCallback?: string | null;
  /** A participant label (Twilio's `label`). */
  label?: string | null;
}

export interface SandboxParticipant {
  callSid: string;
  conferenceSid: string;
  label: string | null;
  muted: boolean;
  hold: boolean;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  dateCreated: Date;
  dateUpdated: Date;
  /** Settles the `left` promise join() returned. */
  resolveLeft: (how: LeftHow) => void;
}

export interface SandboxConference {
  sid: string;
  friendlyName: string;
  status: ConferenceStatus;
  dateCreated: Date;
  dateUpdated: Date;
  /** When it went in-progress; a recording covers from here to the end. */
  startedAt: Date | null;
  reasonEnded: ConferenceEndReason | null;
  callSidEnding: string | null;
  /** In join order; emptied when the conference ends. */
  participants: Map<string, SandboxParticipant>;
  statusCallback: string | null;
  statusCallbackEvents: Set<string>;
  sequenceNumber: number;
  /** The call that asked for recording (the recording's call_sid), if any did. */
  recordCallSid: string | null;
  recordingStatusCallback: string | null;
}

const DEFAULT_EVENTS = ['start', 'end'];

export class ConferenceStore {
  /** Oldest first; listing reverses. */
  private readonly conferences: SandboxConference[] = [];
  private readonly bySid = new Map<string, SandboxConference>();
  /** Creation order, for page tokens. */
  private readonly sequence = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly account: Account,
    private readonly webhooks: CallbackPoster,
    private readonly recordings: RecordingStore,
  ) {}

  join(friendlyName: string, callSid: string, options: JoinOptions = {}): { conferenceSid: string; left: Promise<LeftHow> } {
    if (this.closed) throw new Error('the conference store is closed');
    const conference = this.live(friendlyName) ?? this.open(friendlyName);
    // A call is in one conference at a time: joining again replaces its earlier place.
    const earlier = this.participantOf(callSid);
    if (earlier) this.remove(earlier.conference, earlier.participant, 'removed', 'left');

    if (!conference.statusCallback && options.statusCallback) {
      conference.statusCallback = options.statusCallback;
      conference.statusCallbackEvents = new Set(options.statusCallbackEvent?.length ? options.statusCallbackEvent : DEFAULT_EVENTS);
    }
    if (options.record && !conference.recordCallSid) {
      conference.recordCallSid = callSid;
      conference.recordingStatusCallback = options.recordingStatusCallback ?? null;
    }

    const now = new Date();
    let resolveLeft!: (how: LeftHow) => void;
    const left = new Promise<LeftHow>((resolve) => (resolveLeft = resolve));
    const participant: SandboxParticipant = {
      callSid,
      conferenceSid: conference.sid,
      label: options.label ?? null,
      muted: options.muted ?? false,
      hold: false,
      startConferenceOnEnter: options.startConferenceOnEnter ?? true,
      endConferenceOnExit: options.endConferenceOnExit ?? false,
      dateCreated: now,
      dateUpdated: now,
      resolveLeft,
    };
    conference.participants.set(callSid, participant);
    conference.dateUpdated = now;
    this.notify(conference, 'join', 'participant-join', participant);
    if (conference.status === 'init' && participant.startConferenceOnEnter) {
      conference.status = 'in-progress';
      conference.startedAt = now;
      this.notify(conference, 'start', 'conference-start');
    }
    return { conferenceSid: conference.sid, left };
  }

  /** The participant's call hung up; its `left` resolves 'removed' (it is no longer in it). */
  leave(callSid: string): void {
    const found = this.participantOf(callSid);
    if (found) this.remove(found.conference, found.participant, 'removed', 'left');
  }

  get(sid: string): SandboxConference | undefined {
    return this.bySid.get(sid);
  }

  /** Newest first, as Twilio lists. */
  all(): SandboxConference[] {
    return [...this.conferences].reverse();
  }

  /** Position in the newest-first listing, for page tokens (paging.ts). */
  listPosition(sid: string): number | undefined {
    const created = this.sequence.get(sid);
    return created === undefined ? undefined : -created;
  }

  /** The recordings made of a conference, newest first. */
  recordingsOf(conferenceSid: string): SandboxRecording[] {
    return this.recordings.all().filter((r) => r.conferenceSid === conferenceSid);
  }

  requireConference(sid: string, path: string): SandboxConference {
    const conference = this.bySid.get(sid);
    if (!conference) throw notFound(path);
    return conference;
  }

  requireParticipant(conferenceSid: string, callSid: string, path: string): SandboxParticipant {
    const participant = this.bySid.get(conferenceSid)?.participants.get(callSid);
    if (!participant) throw notFound(path);
    return participant;
  }

  /** REST `Status=completed`. */
  end(sid: string, path: string): SandboxConference {
    const conference = this.requireConference(sid, path);
    if (conference.status !== 'completed') this.finish(conference, 'conference-ended-via-api', null);
    return conference;
  }

  /** REST DELETE of a participant (a kick). */
  kick(conferenceSid: string, callSid: string, path: string): void {
    const participant = this.requireParticipant(conferenceSid, callSid, path);
    this.remove(this.bySid.get(conferenceSid)!, participant, 'removed', 'kicked');
  }

  /** REST update of Muted / Hold; a change posts participant-(un)mute / -(un)hold. */
  update(conferenceSid: string, callSid: string, changes: { muted?: boolean; hold?: boolean }, path: string): SandboxParticipant {
    const participant = this.requireParticipant(conferenceSid, callSid, path);
    const conference = this.bySid.get(conferenceSid)!;
    const now = new Date();
    if (changes.muted !== undefined && changes.muted !== participant.muted) {
      participant.muted = changes.muted;
      participant.dateUpdated = now;
      this.notify(conference, 'mute', changes.muted ? 'participant-mute' : 'participant-unmute', participant);
    }
    if (changes.hold !== undefined && changes.hold !== participant.hold) {
      participant.hold = changes.hold;
      participant.dateUpdated = now;
      this.notify(conference, 'hold', changes.hold ? 'participant-hold' : 'participant-unhold', participant);
    }
    return participant;
  }

  /** Ends nothing on the wire: every waiting participant's `left` resolves 'ended', no callbacks. */
  close(): void {
    this.closed = true;
    for (const conference of this.conferences) {
      for (const participant of conference.participants.values()) participant.resolveLeft('ended');
      conference.participants.clear();
    }
  }

  private live(friendlyName: string): SandboxConference | undefined {
    return this.conferences.find((c) => c.friendlyName === friendlyName && c.status !== 'completed');
  }

  private open(friendlyName: string): SandboxConference {
    const now = new Date();
    const conference: SandboxConference = {
      sid: newSid('CF'),
      friendlyName,
      status: 'init',
      dateCreated: now,
      dateUpdated: now,
      startedAt: null,
      reasonEnded: null,
      callSidEnding: null,
      participants: new Map(),
      statusCallback: null,
      statusCallbackEvents: new Set(),
      sequenceNumber: 0,
      recordCallSid: null,
      recordingStatusCallback: null,
    };
    this.conferences.push(conference);
    this.bySid.set(conference.sid, conference);
    this.sequence.set(conference.sid, this.sequence.size);
    return conference;
  }

  private participantOf(callSid: string): { conference: SandboxConference; participant: SandboxParticipant } | undefined {
    for (const conference of this.conferences) {
      const participant = conference.participants.get(callSid);
      if (participant) return { conference, participant };
    }
    return undefined;
  }

  private remove(conference: SandboxConference, participant: SandboxParticipant, how: LeftHow, why: 'left' | 'kicked'): void {
    conference.participants.delete(participant.callSid);
    conference.dateUpdated = new Date();
    participant.resolveLeft(how);
    this.notify(conference, 'leave', 'participant-leave', participant);
    if (participant.endConferenceOnExit) {
      this.finish(conference, why === 'left' ? 'participant-with-end-conference-on-exit-left' : 'participant-with-end-conference-on-exit-kicked', participant.callSid);
    } else if (conference.participants.size === 0) {
      this.finish(conference, why === 'left' ? 'last-participant-left' : 'last-participant-kicked', participant.callSid);
    }
  }

  private finish(conference: SandboxConference, reason: ConferenceEndReason, endingCallSid: string | null): void {
    const now = new Date();
    conference.status = 'completed';
    conference.reasonEnded = reason;
    conference.callSidEnding = endingCallSid;
    conference.dateUpdated = now;
    const remaining = [...conference.participants.values()];
    conference.participants.clear();
    for (const participant of remaining) participant.resolveLeft('ended');
    this.notify(conference, 'end', 'conference-end');
    if (conference.recordCallSid && conference.startedAt && !this.closed) {
      this.recordings.create({
        callSid: conference.recordCallSid,
        conferenceSid: conference.sid,
        source: 'Conference',
        durationSeconds: Math.max(1, Math.round((now.getTime() - conference.startedAt.getTime()) / 1000)),
        startTime: conference.startedAt,
        statusCallback: conference.recordingStatusCallback,
      });
    }
  }

  private notify(conference: SandboxConference, event: string, name: string, participant?: SandboxParticipant): void {
    if (!conference.statusCallback || this.closed || !conference.statusCallbackEvents.has(event)) return;
    conference.sequenceNumber += 1;
    const params: Record<string, string> = {
      AccountSid: this.account.sid,
      ConferenceSid: conference.sid,
      FriendlyName: conference.friendlyName,
      StatusCallbackEvent: name,
      Timestamp: rfc2822(new Date()),
      SequenceNumber: String(conference.sequenceNumber),
    };
    if (participant) {
      Object.assign(params, {
        CallSid: participant.callSid,
        Muted: String(participant.muted),
        Hold: String(participant.hold),
        Coaching: 'false',
        EndConferenceOnExit: String(participant.endConferenceOnExit),
        StartConferenceOnEnter: String(participant.startConferenceOnEnter),
      });
    }
    if (name === 'conference-end') {
      params.ReasonConferenceEnded = conference.reasonEnded!;
      if (conference.callSidEnding) params.CallSidEndingConference = conference.callSidEnding;
    }
    void this.webhooks.post(conference.statusCallback, params).catch(() => undefined);
  }
}

function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

export function conferenceJson(accountSid: string, c: SandboxConference) {
  const base = `/2010-04-01/Accounts/${accountSid}/Conferences/${c.sid}`;
  return {
    account_sid: accountSid,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    api_version: '2010-04-01',
    friendly_name: c.friendlyName,
    region: 'us1',
    sid: c.sid,
    status: c.status,
    uri: `${base}.json`,
    subresource_uris: {
      participants: `${base}/Participants.json`,
      recordings: `${base}/Recordings.json`,
    },
    reason_conference_ended: c.reasonEnded,
    call_sid_ending_conference: c.callSidEnding,
  };
}

export function participantJson(accountSid: string, p: SandboxParticipant) {
  return {
    account_sid: accountSid,
    call_sid: p.callSid,
    label: p.label,
    call_sid_to_coach: null,
    coaching: false,
    conference_sid: p.conferenceSid,
    date_created: rfc2822(p.dateCreated),
    date_updated: rfc2822(p.dateUpdated),
    end_conference_on_exit: p.endConferenceOnExit,
    muted: p.muted,
    hold: p.hold,
    start_conference_on_enter: p.startConferenceOnEnter,
    status: 'connected',
    queue_time: null,
    uri: `/2010-04-01/Accounts/${accountSid}/Conferences/${p.conferenceSid}/Participants/${p.callSid}.json`,
  };
}

/** A conference's recording as its Recordings subresource shows it. */
export function conferenceRecordingJson(accountSid: string, r: SandboxRecording) {
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
    price_unit: r.price === null ? null : 'USD',
    status: r.status,
    channels: r.channels,
    source: r.source,
    error_code: r.errorCode,
    encryption_details: null,
    uri: `/2010-04-01/Accounts/${accountSid}/Conferences/${r.conferenceSid}/Recordings/${r.sid}.json`,
  };
}

/** Twilio's booleans on the wire: `true` / `false` only. */
function booleanParam(params: Params, name: string): boolean | undefined {
  const value = first(params, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new TwilioError(400, 20001, `Invalid ${name}: ${value}. Use true or false.`);
}

/** Update parameters the sandbox does not emulate: answered 501, never silently ignored. */
const NOT_EMULATED_CONFERENCE = ['AnnounceUrl', 'AnnounceMethod'];
const NOT_EMULATED_PARTICIPANT = ['HoldUrl', 'HoldMethod', 'AnnounceUrl', 'AnnounceMethod', 'WaitUrl', 'WaitMethod', 'BeepOnExit', 'EndConferenceOnExit', 'Coaching', 'CallSidToCoach'];

function refuseNotEmulated(form: Params, names: string[]): void {
  const given = names.filter((name) => form.has(name));
  if (given.length > 0) throw new TwilioError(501, 20501, `The sandbox does not emulate ${given.join(', ')} on this resource.`);
}

const SID = '[0-9a-fA-F]{32}';
const CONFERENCE_PATH = new RegExp(`^/Conferences/(CF${SID})\\.json$`);
const PARTICIPANTS_PATH = new RegExp(`^/Conferences/(CF${SID})/Participants(\\.json|/(CA${SID})\\.json)$`);
const CONFERENCE_RECORDINGS_PATH = new RegExp(`^/Conferences/(CF${SID})/Recordings(\\.json|/(RE${SID})\\.json)$`);
const STATUSES = new Set<ConferenceStatus>(['init', 'in-progress', 'completed']);

/**
 * The Conferences routes under `/2010-04-01/Accounts/{AccountSid}`; undefined means "not one
 * of these paths/methods" (e.g. POST …/Participants.json, which dials out: the Calls side).
 */
export function conferencesRoute(
  store: ConferenceStore,
  accountSid: string,
  method: string,
  rest: string,
  query: Params,
  form: Params,
): Reply | undefined {
  const base = `/2010-04-01/Accounts/${accountSid}`;
  const path = `${base}${rest}`;

  if (rest === '/Conferences.json') {
    if (method !== 'GET') return undefined;
    const status = first(query, 'Status');
    if (status !== undefined && !STATUSES.has(status as ConferenceStatus)) {
      throw new TwilioError(400, 20001, `Invalid Status: ${status}. Use init, in-progress or completed.`);
    }
    const friendlyName = first(query, 'FriendlyName');
    const created = dateFilter<SandboxConference>(query, 'DateCreated', (c) => c.dateCreated);
    const updated = dateFilter<SandboxConference>(query, 'DateUpdated', (c) => c.dateUpdated);
    const items = store.all().filter((c) => (!status || c.status === status) && (!friendlyName || c.friendlyName === friendlyName) && created(c) && updated(c));
    const positionOf = (sid: string) => store.listPosition(sid);
    return { status: 200, body: paginate(items, query, `${base}/Conferences.json`, 'conferences', (c) => conferenceJson(accountSid, c), { positionOf }) };
  }

  const conferenceMatch = CONFERENCE_PATH.exec(rest);
  if (conferenceMatch) {
    const sid = conferenceMatch[1]!;
    if (method === 'GET') return { status: 200, body: conferenceJson(accountSid, store.requireConference(sid, path)) };
    if (method !== 'POST') return undefined;
    store.requireConference(sid, path);
    refuseNotEmulated(form, NOT_EMULATED_CONFERENCE);
    const status = first(form, 'Status');
    if (status === undefined) return { status: 200, body: conferenceJson(accountSid, store.requireConference(sid, path)) };
    if (status !== 'completed') throw new TwilioError(400, 20001, `Invalid Status: ${status}. The only allowed value is 'completed'.`);
    return { status: 200, body: conferenceJson(accountSid, store.end(sid, path)) };
  }

  const participantsMatch = PARTICIPANTS_PATH.exec(rest);
  if (participantsMatch) {
    const [, conferenceSid, tail, callSid] = participantsMatch as unknown as [string, string, string, string | undefined];
    if (tail === '.json') {
      if (method !== 'GET') return undefined;
      const conference = store.requireConference(conferenceSid, path);
      const muted = booleanParam(query, 'Muted');
      const hold = booleanParam(query, 'Hold');
      const coaching = booleanParam(query, 'Coaching');
      const items = [...conference.participants.values()].filter(
        (p) => (muted === undefined || p.muted === muted) && (hold === undefined || p.hold === hold) && (coaching === undefined || coaching === false),
      );
      // Participants are keyed by their call: the page token names the call SID.
      const keyed = items.map((p) => ({ sid: p.callSid, participant: p }));
      return {
        status: 200,
        body: paginate(keyed, query, `${base}/Conferences/${conferenceSid}/Participants.json`, 'participants', (k) => participantJson(accountSid, k.participant)),
      };
    }
    if (method === 'GET') return { status: 200, body: participantJson(accountSid, store.requireParticipant(conferenceSid, callSid!, path)) };
    if (method === 'DELETE') {
      store.kick(conferenceSid, callSid!, path);
      return { status: 204 };
    }
    if (method !== 'POST') return undefined;
    store.requireParticipant(conferenceSid, callSid!, path);
    refuseNotEmulated(form, NOT_EMULATED_PARTICIPANT);
    const changes: { muted?: boolean; hold?: boolean } = {};
    const muted = booleanParam(form, 'Muted');
    const hold = booleanParam(form, 'Hold');
    if (muted !== undefined) changes.muted = muted;
    if (hold !== undefined) changes.hold = hold;
    return { status: 200, body: participantJson(accountSid, store.update(conferenceSid, callSid!, changes, path)) };
  }

  const recordingsMatch = CONFERENCE_RECORDINGS_PATH.exec(rest);
  if (recordingsMatch) {
    const [, conferenceSid, tail, recordingSid] = recordingsMatch as unknown as [string, string, string, string | undefined];
    if (method !== 'GET') return undefined;
    store.requireConference(conferenceSid, path);
    const mine = store.recordingsOf(conferenceSid);
    if (tail === '.json') {
      const created = dateFilter<SandboxRecording>(query, 'DateCreated', (r) => r.dateCreated);
      return {
        status: 200,
        body: paginate(mine.filter(created), query, `${base}/Conferences/${conferenceSid}/Recordings.json`, 'recordings', (r) => conferenceRecordingJson(accountSid, r)),
      };
    }
    const recording = mine.find((r) => r.sid === recordingSid);
    if (!recording) throw notFound(path);
    return { status: 200, body: conferenceRecordingJson(accountSid, recording) };
  }

  return undefined;
}
