/**
 * Video rooms and their access tokens. A token is a credential to join a room as one
 * identity: it is made here with the official SDK's AccessToken + VideoGrant, signed with an
 * API key and secret (never the auth token). No MCP types here.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { RoomRecord } from '../gateway/conversations-gateway.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import { lazy } from '../util/lazy.js';

const jwt = lazy(async () => (await import('twilio')).default.jwt);
const MAX_TTL_SECONDS = 24 * 3600;

export interface ApiKey {
  sid: string;
  secret: string;
}

const roomView = (r: RoomRecord) => ({
  room_sid: r.sid,
  unique_name: r.uniqueName,
  status: r.status,
  type: r.type,
  max_participants: r.maxParticipants,
  duration_seconds: r.durationSeconds,
  date_created: r.dateCreated?.toISOString() ?? null,
});

export class VideoService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly accountSid: string,
    private readonly apiKey: () => Promise<ApiKey | undefined>,
  ) {}

  async createRoom(input: { unique_name: string; type?: 'group' | 'peer-to-peer' | 'go' | 'group-small'; max_participants?: number; record_participants_on_connect?: boolean }) {
    const room = await this.gateway.video.createRoom({
      uniqueName: input.unique_name,
      type: input.type ?? 'group',
      maxParticipants: input.max_participants,
      recordParticipantsOnConnect: input.record_participants_on_connect,
    });
    return { ...roomView(room), next_step: 'Give each participant their own token from create_video_access_token.' };
  }

  async listRooms(input: { status?: 'in-progress' | 'completed'; unique_name?: string; include_participants?: boolean; limit?: number }) {
    const rooms = await this.gateway.video.listRooms({ status: input.status, uniqueName: input.unique_name }, input.limit ?? 20);
    return {
      rooms: await Promise.all(
        rooms.map(async (r) => ({
          ...roomView(r),
          ...(input.include_participants && {
            participants: (await this.gateway.video.listParticipants(r.sid, 50)).map((p) => ({ participant_sid: p.sid, identity: p.identity, status: p.status, duration_seconds: p.durationSeconds })),
          }),
        })),
      ),
    };
  }

  async endRoom(input: { room: string }) {
    return { ...roomView(await this.gateway.video.endRoom(input.room)), note: 'The room ended; everyone in it was disconnected.' };
  }

  async accessToken(input: { identity: string; room: string; ttl_seconds?: number }) {
    const key = await this.apiKey();
    if (!key) {
      throw new ToolFailure({
        message: 'A video access token must be signed with an API key, and none is configured (an auth token cannot sign one).',
        nextStep: 'Create an API key (Console → Account → API keys, or `twilio api:core:keys:create`) and set TWILIO_API_KEY and TWILIO_API_SECRET.',
      });
    }
    const ttl = Math.min(input.ttl_seconds ?? 3600, MAX_TTL_SECONDS);
    const { AccessToken } = await jwt();
    const token = new AccessToken(this.accountSid, key.sid, key.secret, { identity: input.identity, ttl });
    token.addGrant(new AccessToken.VideoGrant({ room: input.room }));
    return {
      token: token.toJwt(),
      identity: input.identity,
      room: input.room,
      expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
      note: `A credential: give it only to ${input.identity}; anyone holding it joins ${input.room} as them until it expires.`,
    };
  }
}
