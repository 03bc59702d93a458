/**
 * Video v1 on the video host (`video.twilio.com/v1`): Rooms, their Participants, track
 * Recordings and Compositions. v1 wire format: ISO 8601 dates without milliseconds,
 * absolute URLs on https://video.twilio.com, `meta` paging.
 *
 * Nobody holds a camera here: participants are scripted (`join(room, identity)`, the
 * handle's joinVideoParticipant, POST /__sandbox/video-participants). What the sandbox
 * does with them is what Twilio does:
 * - a room is `in-progress` from its creation; it is `completed` over REST
 *   (`Status=completed`), or by itself when nobody joined it within UnusedRoomTimeout
 *   minutes, or when it stayed empty EmptyRoomTimeout minutes after the last participant
 *   left (both default 5, as Twilio's; `msPerMinute` sets how long a simulated minute lasts);
 * - ending a room disconnects everyone in it, sets `end_time` and `duration` (seconds);
 * - a participant joining with the identity of a connected one replaces it (Twilio's
 *   53205, duplicate identity): the old one is disconnected;
 * - with RecordParticipantsOnConnect each joiner gets an audio (OPUS/mka) and a video
 *   (VP8/mkv) track recording, `processing` while connected, `completed` at disconnect;
 * - a room that had recordings gets a composition of them when it ends, `completed` (as if
 *   the account had a composition hook composing every recorded room).
 * Status callbacks (signed POSTs to the room's StatusCallback): room-created,
 * participant-connected, participant-disconnected, recording-started, recording-completed,
 * room-ended.
 *
 * Codes, from Twilio's Video error list: 53101 UniqueName too long · 53105 room full ·
 * 53107 MaxParticipants out of range · 53108 bad Type · 53109 a timeout out of range ·
 * 53110 bad StatusCallbackMethod · 53111 bad StatusCallback (also one the callback policy
 * refuses) · 53112 bad Status · 53113 an in-progress room has that UniqueName · 53114 a
 * parameter the room type does not allow (recording a peer-to-peer or go room) · 53115 bad
 * MediaRegion · 53118 room completed · 53200/53201 participant identity empty / too long.
 */
import { randomUUID } from 'node:crypto';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import { isoSeconds } from './messaging-services.js';
import { paginateMeta } from './paging.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, TwilioError } from './wire.js';

export const VIDEO_HOST = 'https://video.twilio.com';

export type RoomType = 'go' | 'peer-to-peer' | 'group' | 'group-small';
export type RoomStatus = 'in-progress' | 'completed' | 'failed';

/** Twilio's per-type participant ceiling, also the default MaxParticipants. */
const MAX_PARTICIPANTS: Record<RoomType, number> = { group: 50, 'group-small': 4, 'peer-to-peer': 10, go: 2 };
const MEDIA_REGIONS = new Set(['us1', 'us2', 'ie1', 'de1', 'sg1', 'jp1', 'au1', 'br1', 'in1']);
/** Synthetic media sizes: bytes per second of an audio (Opus) and a video (VP8) track. */
const AUDIO_BYTES_PER_SECOND = 4_000;
const VIDEO_BYTES_PER_SECOND = 62_500;

export interface VideoTiming {
  /** Real milliseconds per simulated minute, for EmptyRoomTimeout and UnusedRoomTimeout. Default 1000. */
  msPerMinute: number;
}

export interface Room {
  sid: string;
  uniqueName: string;
  type: RoomType;
  status: RoomStatus;
  statusCallback: string | null;
  maxParticipants: number;
  maxParticipantDuration: number;
  recordParticipantsOnConnect: boolean;
  videoCodecs: string[] | null;
  mediaRegion: string | null;
  audioOnly: boolean;
  enableTurn: boolean;
  largeRoom: boolean;
  emptyRoomTimeout: number;
  unusedRoomTimeout: number;
  dateCreated: Date;
  dateUpdated: Date;
  endTime: Date | null;
  everJoined: boolean;
  sequence: number;
  timer: NodeJS.Timeout | undefined;
}

export interface VideoParticipant {
  sid: string;
  roomSid: string;
  identity: string;
  status: 'connected' | 'disconnected';
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date;
  endTime: Date | null;
  recordings: VideoRecording[];
}

export interface VideoRecording {
  sid: string;
  roomSid: string;
  participantSid: string;
  sourceSid: string;
  type: 'audio' | 'video';
  status: 'processing' | 'completed';
  trackName: string;
  /** Milliseconds from the room's start to the recording's. */
  offset: number;
  dateCreated: Date;
  duration: number | null;
  size: number | null;
}

export interface Composition {
  sid: string;
  roomSid: string;
  dateCreated: Date;
  duration: number;
  size: number;
}

/** What the store needs from the webhook sender (WebhookSender fits). */
export interface VideoWebhookPoster {
  post(url: string, params: Record<string, string>): Promise<unknown>;
}

export interface VideoDeps {
  accountSid: string;
  webhooks: VideoWebhookPoster;
  callbackPolicy?: CallbackPolicy | undefined;
  timing?: Partial<VideoTiming>;
  now?: () => Date;
}

const bad = (code: number, message: string) => new TwilioError(400, code, message);
const notFound = (resource: string) => new TwilioError(404, 20404, `The requested resource ${resource} was not found`);
const notEmulated = (what: string) =>
  new TwilioError(501, 20501, `The sandbox does not emulate ${what} (see src/sandbox/README.md); test this request against Twilio.`);
const seconds = (from: Date, to: Date) => Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));

function parseBoolean(form: Params, name: string): boolean | undefined {
  const value = first(form, name);
  if (value === undefined) return undefined;
  if (value.toLowerCase() === 'true') return true;
  if (value.toLowerCase() === 'false') return false;
  throw bad(20001, `Invalid ${name}: ${value}`);
}

function parseInteger(form: Params, name: string, code: number, min: number, max: number): number | undefined {
  const value = first(form, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw bad(code, `${name} is out of range`);
  return n;
}

export function normalizeVideoTiming(timing: Partial<VideoTiming> = {}): VideoTiming {
  const msPerMinute = timing.msPerMinute ?? 1000;
  if (!Number.isFinite(msPerMinute) || msPerMinute < 0) throw new Error(`videoTiming.msPerMinute must be a non-negative number, got ${msPerMinute}`);
  return { msPerMinute };
}

export class VideoStore {
  /** Creation order; lists show newest first. */
  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<string, VideoParticipant>();
  private readonly recordings: VideoRecording[] = [];
  private readonly compositions: Composition[] = [];
  readonly now: () => Date;
  readonly timing: VideoTiming;
  private closed = false;

  constructor(private readonly deps: VideoDeps) {
    this.now = deps.now ?? (() => new Date());
    this.timing = normalizeVideoTiming(deps.timing);
  }

  get accountSid(): string {
    return this.deps.accountSid;
  }

  // ── Rooms ─────────────────────────────────────────────────────────────────

  listRooms(): Room[] {
    return [...this.rooms.values()].reverse();
  }

  /** By RM… SID, or by UniqueName (then only an in-progress room, as Twilio looks it up). */
  requireRoom(sidOrName: string): Room {
    const room = this.rooms.get(sidOrName) ?? [...this.rooms.values()].find((r) => r.uniqueName === sidOrName && r.status === 'in-progress');
    if (!room) throw notFound(`/Rooms/${sidOrName}`);
    return room;
  }

  createRoom(form: Params): Room {
    for (const name of ['RecordingRules', 'TranscriptionsConfiguration', 'TranscribeParticipantsOnConnect']) {
      if (form.has(name)) throw notEmulated(`${name} on a video room`);
    }
    const typeParam = first(form, 'Type') ?? 'group';
    if (!(typeParam in MAX_PARTICIPANTS)) throw bad(53108, 'RoomType is not valid');
    const type = typeParam as RoomType;
    const uniqueName = first(form, 'UniqueName');
    if (uniqueName !== undefined && uniqueName.length > 128) throw bad(53101, 'Room name is too long');
    if (uniqueName && [...this.rooms.values()].some((r) => r.uniqueName === uniqueName && r.status === 'in-progress')) throw bad(53113, 'Room exists');
    const maxParticipants = parseInteger(form, 'MaxParticipants', 53107, 1, MAX_PARTICIPANTS[type]) ?? MAX_PARTICIPANTS[type];
    const record = parseBoolean(form, 'RecordParticipantsOnConnect') ?? false;
    if (record && (type === 'peer-to-peer' || type === 'go')) throw bad(53114, 'Room creation parameter(s) incompatible with the Room type');
    const method = first(form, 'StatusCallbackMethod');
    if (method !== undefined) {
      if (method.toUpperCase() !== 'GET' && method.toUpperCase() !== 'POST') throw bad(53110, 'StatusCallbackMethod is invalid');
      if (method.toUpperCase() === 'GET') throw notEmulated('GET room status callbacks (StatusCallbackMethod=GET); the sandbox POSTs them');
    }
    const statusCallback = first(form, 'StatusCallback') || null;
    if (statusCallback) {
      const why = /^https?:\/\/[^\s/?#]+\S*$/i.test(statusCallback) ? callbackRefusal(statusCallback, this.deps.callbackPolicy) : 'it is not an http(s) URL';
      if (why) throw bad(53111, `StatusCallback is invalid: ${why}`);
    }
    const mediaRegion = first(form, 'MediaRegion');
    if (mediaRegion !== undefined && !MEDIA_REGIONS.has(mediaRegion)) throw bad(53115, 'MediaRegion is invalid');
    const codecs = form.get('VideoCodecs');
    if (codecs?.some((c) => c !== 'VP8' && c !== 'H264')) throw bad(20001, `Invalid VideoCodecs: ${codecs.join(',')}`);
    const peerToPeer = type === 'peer-to-peer';
    const now = this.now();
    const sid = newSid('RM');
    const room: Room = {
      sid,
      // Twilio names an unnamed room after its SID.
      uniqueName: uniqueName || sid,
      type,
      status: 'in-progress',
      statusCallback,
      maxParticipants,
      maxParticipantDuration: parseInteger(form, 'MaxParticipantDuration', 20001, 600, 86_400) ?? 14_400,
      recordParticipantsOnConnect: record,
      videoCodecs: codecs?.length ? codecs : peerToPeer ? null : ['VP8'],
      mediaRegion: mediaRegion ?? (peerToPeer ? null : 'us1'),
      audioOnly: parseBoolean(form, 'AudioOnly') ?? false,
      enableTurn: parseBoolean(form, 'EnableTurn') ?? true,
      largeRoom: parseBoolean(form, 'LargeRoom') ?? false,
      emptyRoomTimeout: parseInteger(form, 'EmptyRoomTimeout', 53109, 1, 60) ?? 5,
      unusedRoomTimeout: parseInteger(form, 'UnusedRoomTimeout', 53109, 1, 60) ?? 5,
      dateCreated: now,
      dateUpdated: now,
      endTime: null,
      everJoined: false,
      sequence: 0,
      timer: undefined,
    };
    this.rooms.set(room.sid, room);
    this.callback(room, 'room-created', {});
    this.armTimeout(room, room.unusedRoomTimeout);
    return room;
  }

  updateRoom(sidOrName: string, form: Params): Room {
    const room = this.requireRoom(sidOrName);
    const status = first(form, 'Status');
    if (status === undefined || status === '') throw bad(20001, 'Missing required parameter Status in the post body');
    if (status !== 'completed') throw bad(53112, 'Status is invalid');
    if (room.status !== 'in-progress') throw bad(53118, 'Room completed');
    this.endRoom(room);
    return room;
  }

  private endRoom(room: Room): void {
    if (room.status !== 'in-progress') return;
    clearTimeout(room.timer);
    room.timer = undefined;
    const now = this.now();
    for (const p of this.participantsOf(room.sid)) if (p.status === 'connected') this.disconnect(p, now, false);
    room.status = 'completed';
    room.endTime = now;
    room.dateUpdated = now;
    this.callback(room, 'room-ended', { RoomDuration: String(seconds(room.dateCreated, now)) });
    const recorded = this.recordings.filter((r) => r.roomSid === room.sid);
    if (recorded.length > 0) {
      const duration = seconds(room.dateCreated, now);
      this.compositions.push({ sid: newSid('CJ'), roomSid: room.sid, dateCreated: now, duration, size: recorded.reduce((sum, r) => sum + (r.size ?? 0), 0) });
    }
  }

  /** Ends the room after `minutes` simulated minutes unless someone joins first. */
  private armTimeout(room: Room, minutes: number): void {
    clearTimeout(room.timer);
    if (this.closed) return;
    room.timer = setTimeout(() => this.endRoom(room), minutes * this.timing.msPerMinute);
    room.timer.unref();
  }

  // ── Participants ──────────────────────────────────────────────────────────

  participantsOf(roomSid: string): VideoParticipant[] {
    return [...this.participants.values()].filter((p) => p.roomSid === roomSid);
  }

  requireParticipant(roomSidOrName: string, sidOrIdentity: string): VideoParticipant {
    const room = this.requireRoom(roomSidOrName);
    const found =
      this.participants.get(sidOrIdentity) ?? this.participantsOf(room.sid).filter((p) => p.identity === sidOrIdentity).sort((a, b) => Number(b.status === 'connected') - Number(a.status === 'connected'))[0];
    if (!found || found.roomSid !== room.sid) throw notFound(`/Rooms/${room.sid}/Participants/${sidOrIdentity}`);
    return found;
  }

  /** A scripted participant connects (the sandbox's stand-in for a client SDK joining with an access token). */
  join(roomSidOrName: string, identity: string): VideoParticipant {
    const room = [...this.rooms.values()].find((r) => r.sid === roomSidOrName || r.uniqueName === roomSidOrName);
    if (!room) throw notFound(`/Rooms/${roomSidOrName}`);
    if (room.status !== 'in-progress') throw bad(53118, 'Room completed');
    if (identity === '') throw bad(53200, 'Participant identity is invalid');
    if (identity.length > 256) throw bad(53201, 'Participant identity is too long');
    const now = this.now();
    const connected = this.participantsOf(room.sid).filter((p) => p.status === 'connected');
    // Twilio's 53205: the newcomer with a taken identity replaces the one connected.
    const twin = connected.find((p) => p.identity === identity);
    if (twin) this.disconnect(twin, now, false);
    else if (connected.length >= room.maxParticipants) throw bad(53105, 'Room contains too many Participants');
    const participant: VideoParticipant = {
      sid: newSid('PA'),
      roomSid: room.sid,
      identity,
      status: 'connected',
      dateCreated: now,
      dateUpdated: now,
      startTime: now,
      endTime: null,
      recordings: [],
    };
    this.participants.set(participant.sid, participant);
    room.everJoined = true;
    clearTimeout(room.timer);
    room.timer = undefined;
    this.callback(room, 'participant-connected', participantParams(participant));
    if (room.recordParticipantsOnConnect) {
      for (const type of ['audio', 'video'] as const) {
        const recording: VideoRecording = {
          sid: newSid('RT'),
          roomSid: room.sid,
          participantSid: participant.sid,
          sourceSid: newSid('MT'),
          type,
          status: 'processing',
          trackName: randomUUID(),
          offset: now.getTime() - room.dateCreated.getTime(),
          dateCreated: now,
          duration: null,
          size: null,
        };
        participant.recordings.push(recording);
        this.recordings.push(recording);
        this.callback(room, 'recording-started', recordingParams(recording));
      }
    }
    return participant;
  }

  updateParticipant(roomSidOrName: string, sidOrIdentity: string, form: Params): VideoParticipant {
    const participant = this.requireParticipant(roomSidOrName, sidOrIdentity);
    const status = first(form, 'Status');
    if (status === undefined) return participant;
    if (status !== 'disconnected') throw bad(53112, 'Status is invalid');
    if (participant.status === 'connected') this.disconnect(participant, this.now(), true);
    return participant;
  }

  /** `lastOneArms`: whether leaving an emptied room starts its EmptyRoomTimeout (not when the room itself ends). */
  private disconnect(p: VideoParticipant, at: Date, lastOneArms: boolean): void {
    const room = this.rooms.get(p.roomSid)!;
    p.status = 'disconnected';
    p.endTime = at;
    p.dateUpdated = at;
    for (const r of p.recordings) {
      if (r.status !== 'processing') continue;
      r.status = 'completed';
      r.duration = seconds(r.dateCreated, at);
      r.size = r.duration * (r.type === 'audio' ? AUDIO_BYTES_PER_SECOND : VIDEO_BYTES_PER_SECOND);
      this.callback(room, 'recording-completed', recordingParams(r));
    }
    this.callback(room, 'participant-disconnected', { ...participantParams(p), ParticipantDuration: String(seconds(p.startTime, at)) });
    if (lastOneArms && !this.participantsOf(room.sid).some((other) => other.status === 'connected')) this.armTimeout(room, room.emptyRoomTimeout);
  }

  // ── Recordings and compositions ───────────────────────────────────────────

  listRecordings(): VideoRecording[] {
    return [...this.recordings].reverse();
  }

  requireRecording(sid: string): VideoRecording {
    const r = this.recordings.find((x) => x.sid === sid);
    if (!r) throw notFound(`/Recordings/${sid}`);
    return r;
  }

  listCompositions(): Composition[] {
    return [...this.compositions].reverse();
  }

  requireComposition(sid: string): Composition {
    const c = this.compositions.find((x) => x.sid === sid);
    if (!c) throw notFound(`/Compositions/${sid}`);
    return c;
  }

  close(): void {
    this.closed = true;
    for (const room of this.rooms.values()) clearTimeout(room.timer);
  }

  private callback(room: Room, event: string, extra: Record<string, string>): void {
    if (!room.statusCallback || this.closed) return;
    room.sequence += 1;
    const params: Record<string, string> = {
      AccountSid: this.deps.accountSid,
      RoomName: room.uniqueName,
      RoomSid: room.sid,
      RoomStatus: room.status,
      RoomType: room.type,
      StatusCallbackEvent: event,
      Timestamp: this.now().toISOString(),
      SequenceNumber: String(room.sequence - 1),
      ...extra,
    };
    void this.deps.webhooks.post(room.statusCallback, params).catch(() => undefined);
  }
}

function participantParams(p: VideoParticipant): Record<string, string> {
  return { ParticipantSid: p.sid, ParticipantStatus: p.status, ParticipantIdentity: p.identity };
}

function recordingParams(r: VideoRecording): Record<string, string> {
  return {
    ParticipantSid: r.participantSid,
    RecordingSid: r.sid,
    RecordingUri: `/v1/Recordings/${r.sid}`,
    SourceSid: r.sourceSid,
    TrackName: r.trackName,
    Type: r.type,
    Container: r.type === 'audio' ? 'mka' : 'mkv',
    Codec: r.type === 'audio' ? 'OPUS' : 'VP8',
    ...(r.duration !== null && { Duration: String(r.duration) }),
    ...(r.size !== null && { Size: String(r.size) }),
  };
}

// ── JSON ────────────────────────────────────────────────────────────────────

export function roomJson(accountSid: string, r: Room) {
  const url = `${VIDEO_HOST}/v1/Rooms/${r.sid}`;
  return {
    sid: r.sid,
    status: r.status,
    date_created: isoSeconds(r.dateCreated),
    date_updated: isoSeconds(r.dateUpdated),
    account_sid: accountSid,
    enable_turn: r.enableTurn,
    unique_name: r.uniqueName,
    status_callback: r.statusCallback,
    status_callback_method: 'POST',
    end_time: r.endTime ? isoSeconds(r.endTime) : null,
    duration: r.endTime ? seconds(r.dateCreated, r.endTime) : null,
    type: r.type,
    max_participants: r.maxParticipants,
    max_participant_duration: r.maxParticipantDuration,
    max_concurrent_published_tracks: r.type === 'group' ? 170 : null,
    record_participants_on_connect: r.recordParticipantsOnConnect,
    video_codecs: r.videoCodecs,
    media_region: r.mediaRegion,
    audio_only: r.audioOnly,
    empty_room_timeout: r.emptyRoomTimeout,
    unused_room_timeout: r.unusedRoomTimeout,
    large_room: r.largeRoom,
    url,
    links: {
      participants: `${url}/Participants`,
      recordings: `${url}/Recordings`,
      recording_rules: `${url}/RecordingRules`,
      transcriptions: `${url}/Transcriptions`,
    },
  };
}

export function videoParticipantJson(accountSid: string, p: VideoParticipant) {
  const url = `${VIDEO_HOST}/v1/Rooms/${p.roomSid}/Participants/${p.sid}`;
  return {
    sid: p.sid,
    room_sid: p.roomSid,
    account_sid: accountSid,
    status: p.status,
    identity: p.identity,
    date_created: isoSeconds(p.dateCreated),
    date_updated: isoSeconds(p.dateUpdated),
    start_time: isoSeconds(p.startTime),
    end_time: p.endTime ? isoSeconds(p.endTime) : null,
    duration: p.endTime ? seconds(p.startTime, p.endTime) : null,
    url,
    links: {
      published_tracks: `${url}/PublishedTracks`,
      subscribed_tracks: `${url}/SubscribedTracks`,
      subscribe_rules: `${url}/SubscribeRules`,
      anonymize: `${url}/Anonymize`,
    },
  };
}

export function videoRecordingJson(accountSid: string, r: VideoRecording) {
  const url = `${VIDEO_HOST}/v1/Recordings/${r.sid}`;
  return {
    account_sid: accountSid,
    status: r.status,
    date_created: isoSeconds(r.dateCreated),
    sid: r.sid,
    source_sid: r.sourceSid,
    size: r.size,
    url,
    type: r.type,
    duration: r.duration,
    container_format: r.type === 'audio' ? 'mka' : 'mkv',
    codec: r.type === 'audio' ? 'OPUS' : 'VP8',
    grouping_sids: { room_sid: r.roomSid, participant_sid: r.participantSid },
    track_name: r.trackName,
    offset: r.offset,
    media_external_location: null,
    status_callback: null,
    status_callback_method: 'POST',
    links: { media: `${url}/Media` },
  };
}

export function compositionJson(accountSid: string, c: Composition) {
  const url = `${VIDEO_HOST}/v1/Compositions/${c.sid}`;
  return {
    account_sid: accountSid,
    status: 'completed',
    date_created: isoSeconds(c.dateCreated),
    date_completed: isoSeconds(c.dateCreated),
    date_deleted: null,
    sid: c.sid,
    room_sid: c.roomSid,
    audio_sources: ['*'],
    audio_sources_excluded: [],
    video_layout: { grid: { video_sources: ['*'] } },
    resolution: '1280x720',
    trim: true,
    format: 'mp4',
    bitrate: c.duration > 0 ? Math.round((c.size * 8) / c.duration / 1000) : 0,
    size: c.size,
    duration: c.duration,
    media_external_location: null,
    status_callback: null,
    status_callback_method: 'POST',
    url,
    links: { media: `${url}/Media` },
  };
}

// ── Routes ──────────────────────────────────────────────────────────────────

const ROOMS_PATH = /^\/v1\/Rooms(?:\/([^/]+)(?:\/(Participants|Recordings)(?:\/([^/]+))?)?)?$/;
const RECORDINGS_PATH = /^\/v1\/Recordings(?:\/([^/]+))?$/;
const COMPOSITIONS_PATH = /^\/v1\/Compositions(?:\/([^/]+))?$/;

/** True for the video host's paths (`/v1/Rooms…`, `/v1/Recordings…`, `/v1/Composition…`, `/v1/RecordingSettings…`). */
export function isVideoPath(path: string): boolean {
  return /^\/v1\/(Rooms|Recordings|Compositions|CompositionHooks|CompositionSettings|RecordingSettings)(\/|$)/.test(path);
}

function dateRange(query: Params): (d: Date) => boolean {
  const parse = (name: string) => {
    const value = first(query, name);
    if (value === undefined) return undefined;
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw bad(20001, `Invalid ${name}: ${value}`);
    return t;
  };
  const after = parse('DateCreatedAfter');
  const before = parse('DateCreatedBefore');
  return (d) => (after === undefined || d.getTime() >= after) && (before === undefined || d.getTime() < before);
}

function decoded(raw: string, resource: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw notFound(resource);
  }
}

/** The Video routes; undefined for a path or method of this product the sandbox does not emulate. */
export function videoRoute(store: VideoStore, method: string, path: string, query: Params, form: Params): Reply | undefined {
  const account = store.accountSid;
  const inRange = dateRange(query);
  const rooms = ROOMS_PATH.exec(path);
  if (rooms) {
    const [, rawRoom, sub, rawChild] = rooms;
    if (rawRoom === undefined) {
      if (method === 'POST') return { status: 201, body: roomJson(account, store.createRoom(form)) };
      if (method !== 'GET') return undefined;
      const status = first(query, 'Status');
      const name = first(query, 'UniqueName');
      const items = store.listRooms().filter((r) => (!status || r.status === status) && (!name || r.uniqueName === name) && inRange(r.dateCreated));
      return { status: 200, body: paginateMeta(items, query, `${VIDEO_HOST}/v1/Rooms`, 'rooms', (r) => roomJson(account, r)) };
    }
    const roomId = decoded(rawRoom, `/Rooms/${rawRoom}`);
    if (sub === undefined) {
      if (method === 'GET') return { status: 200, body: roomJson(account, store.requireRoom(roomId)) };
      // The spec answers a room update with 202.
      if (method === 'POST') return { status: 202, body: roomJson(account, store.updateRoom(roomId, form)) };
      return undefined;
    }
    const room = store.requireRoom(roomId);
    if (sub === 'Recordings') return undefined;
    if (rawChild === undefined) {
      if (method !== 'GET') return undefined;
      const status = first(query, 'Status');
      const identity = first(query, 'Identity');
      const items = store.participantsOf(room.sid).filter((p) => (!status || p.status === status) && (!identity || p.identity === identity) && inRange(p.dateCreated));
      return { status: 200, body: paginateMeta(items, query, `${VIDEO_HOST}/v1/Rooms/${room.sid}/Participants`, 'participants', (p) => videoParticipantJson(account, p)) };
    }
    const child = decoded(rawChild, `/Rooms/${room.sid}/Participants/${rawChild}`);
    if (method === 'GET') return { status: 200, body: videoParticipantJson(account, store.requireParticipant(room.sid, child)) };
    if (method === 'POST') return { status: 202, body: videoParticipantJson(account, store.updateParticipant(room.sid, child, form)) };
    return undefined;
  }
  const recordings = RECORDINGS_PATH.exec(path);
  if (recordings && method === 'GET') {
    const [, sid] = recordings;
    if (sid !== undefined) return { status: 200, body: videoRecordingJson(account, store.requireRecording(sid)) };
    const status = first(query, 'Status');
    const source = first(query, 'SourceSid');
    const groupings = query.get('GroupingSid') ?? [];
    const mediaType = first(query, 'MediaType');
    const items = store
      .listRecordings()
      .filter(
        (r) =>
          (!status || r.status === status) &&
          (!source || r.sourceSid === source) &&
          (!mediaType || r.type === mediaType) &&
          groupings.every((g) => g === r.roomSid || g === r.participantSid) &&
          inRange(r.dateCreated),
      );
    return { status: 200, body: paginateMeta(items, query, `${VIDEO_HOST}/v1/Recordings`, 'recordings', (r) => videoRecordingJson(account, r)) };
  }
  const compositions = COMPOSITIONS_PATH.exec(path);
  if (compositions && method === 'GET') {
    const [, sid] = compositions;
    if (sid !== undefined) return { status: 200, body: compositionJson(account, store.requireComposition(sid)) };
    const status = first(query, 'Status');
    const roomSid = first(query, 'RoomSid');
    const items = store.listCompositions().filter((c) => (!status || status === 'completed') && (!roomSid || c.roomSid === roomSid) && inRange(c.dateCreated));
    return { status: 200, body: paginateMeta(items, query, `${VIDEO_HOST}/v1/Compositions`, 'compositions', (c) => compositionJson(account, c)) };
  }
  return undefined;
}
