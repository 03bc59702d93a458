/**
 * Conversations v1 (conversations.twilio.com) and Video v1 (video.twilio.com). Part of the
 * gateway: shared SDK access, plain records out.
 */
import type { SdkCall } from './voice-gateway.js';
import { toNumber } from './sdk-values.js';

export interface ConversationRecord {
  sid: string;
  friendlyName: string | null;
  uniqueName: string | null;
  state: string;
  dateCreated: Date | null;
}

export interface ParticipantRecord {
  sid: string;
  identity: string | null;
  address: string | null;
  proxyAddress: string | null;
}

export interface ConversationMessageRecord {
  sid: string;
  index: number;
  author: string | null;
  body: string | null;
  dateCreated: Date | null;
}

export interface RoomRecord {
  sid: string;
  uniqueName: string;
  status: string;
  type: string;
  maxParticipants: number | null;
  durationSeconds: number | null;
  dateCreated: Date | null;
  endTime: Date | null;
}

export interface RoomParticipantRecord {
  sid: string;
  identity: string;
  status: string;
  durationSeconds: number | null;
  startTime: Date | null;
}

export interface ConversationsGateway {
  createConversation(r: { friendlyName?: string; uniqueName?: string }): Promise<ConversationRecord>;
  listConversations(limit: number): Promise<ConversationRecord[]>;
  closeConversation(sid: string): Promise<ConversationRecord>;
  addParticipant(conversation: string, r: { address?: string; proxyAddress?: string; identity?: string }): Promise<ParticipantRecord>;
  listParticipants(conversation: string): Promise<ParticipantRecord[]>;
  sendMessage(conversation: string, r: { author?: string; body: string }): Promise<ConversationMessageRecord>;
  listMessages(conversation: string, limit: number): Promise<ConversationMessageRecord[]>;
}

export interface VideoGateway {
  createRoom(r: { uniqueName: string; type: string; maxParticipants?: number; recordParticipantsOnConnect?: boolean; statusCallback?: string }): Promise<RoomRecord>;
  listRooms(filter: { status?: string; uniqueName?: string }, limit: number): Promise<RoomRecord[]>;
  endRoom(sidOrName: string): Promise<RoomRecord>;
  listParticipants(room: string, limit: number): Promise<RoomParticipantRecord[]>;
}


type SdkConversation = { sid: string; friendlyName?: string | null; uniqueName?: string | null; state: string; dateCreated?: Date };
const toConversation = (c: SdkConversation): ConversationRecord => ({
  sid: c.sid,
  friendlyName: c.friendlyName ?? null,
  uniqueName: c.uniqueName ?? null,
  state: c.state,
  dateCreated: c.dateCreated ?? null,
});
type SdkParticipant = { sid: string; identity?: string | null; messagingBinding?: Record<string, unknown> | null };
const toParticipant = (p: SdkParticipant): ParticipantRecord => ({
  sid: p.sid,
  identity: p.identity ?? null,
  address: (p.messagingBinding?.address as string | undefined) ?? null,
  proxyAddress: (p.messagingBinding?.proxy_address as string | undefined) ?? null,
});
type SdkMessage = { sid: string; index: number; author?: string | null; body?: string | null; dateCreated?: Date };
const toMessage = (m: SdkMessage): ConversationMessageRecord => ({ sid: m.sid, index: m.index, author: m.author ?? null, body: m.body ?? null, dateCreated: m.dateCreated ?? null });
type SdkRoom = { sid: string; uniqueName: string; status: string; type: string; maxParticipants?: number; duration?: number; dateCreated?: Date; endTime?: Date };
const toRoom = (r: SdkRoom): RoomRecord => ({
  sid: r.sid,
  uniqueName: r.uniqueName,
  status: r.status,
  type: r.type,
  maxParticipants: toNumber(r.maxParticipants),
  durationSeconds: toNumber(r.duration),
  dateCreated: r.dateCreated ?? null,
  endTime: r.endTime ?? null,
});
type SdkRoomParticipant = { sid: string; identity: string; status: string; duration?: number; startTime?: Date };
const toRoomParticipant = (p: SdkRoomParticipant): RoomParticipantRecord => ({
  sid: p.sid,
  identity: p.identity,
  status: p.status,
  durationSeconds: toNumber(p.duration),
  startTime: p.startTime ?? null,
});

export function createConversationsGateway(call: SdkCall): ConversationsGateway {
  return {
    createConversation: (r) =>
      call(async (c) => toConversation((await c.conversations.v1.conversations.create({ ...(r.friendlyName && { friendlyName: r.friendlyName }), ...(r.uniqueName && { uniqueName: r.uniqueName }) })) as unknown as SdkConversation)),
    listConversations: (limit) => call(async (c) => (await c.conversations.v1.conversations.list({ limit })).map((x) => toConversation(x as unknown as SdkConversation))),
    closeConversation: (sid) => call(async (c) => toConversation((await c.conversations.v1.conversations(sid).update({ state: 'closed' })) as unknown as SdkConversation)),
    addParticipant: (conversation, r) =>
      call(async (c) =>
        toParticipant(
          (await c.conversations.v1.conversations(conversation).participants.create({
            ...(r.identity && { identity: r.identity }),
            ...(r.address && { 'messagingBinding.address': r.address }),
            ...(r.proxyAddress && { 'messagingBinding.proxyAddress': r.proxyAddress }),
          })) as unknown as SdkParticipant,
        ),
      ),
    listParticipants: (conversation) => call(async (c) => (await c.conversations.v1.conversations(conversation).participants.list({ limit: 100 })).map((p) => toParticipant(p as unknown as SdkParticipant))),
    sendMessage: (conversation, r) =>
      call(async (c) => toMessage((await c.conversations.v1.conversations(conversation).messages.create({ body: r.body, ...(r.author && { author: r.author }) })) as unknown as SdkMessage)),
    listMessages: (conversation, limit) =>
      call(async (c) => (await c.conversations.v1.conversations(conversation).messages.list({ limit, order: 'desc' })).map((m) => toMessage(m as unknown as SdkMessage))),
  };
}

export function createVideoGateway(call: SdkCall): VideoGateway {
  return {
    createRoom: (r) =>
      call(async (c) =>
        toRoom(
          (await c.video.v1.rooms.create({
            uniqueName: r.uniqueName,
            type: r.type as never,
            ...(r.maxParticipants !== undefined && { maxParticipants: r.maxParticipants }),
            ...(r.recordParticipantsOnConnect !== undefined && { recordParticipantsOnConnect: r.recordParticipantsOnConnect }),
            ...(r.statusCallback && { statusCallback: r.statusCallback, statusCallbackMethod: 'POST' }),
          })) as unknown as SdkRoom,
        ),
      ),
    listRooms: (f, limit) =>
      call(async (c) => (await c.video.v1.rooms.list({ limit, ...(f.status && { status: f.status as never }), ...(f.uniqueName && { uniqueName: f.uniqueName }) })).map((r) => toRoom(r as unknown as SdkRoom))),
    endRoom: (sidOrName) => call(async (c) => toRoom((await c.video.v1.rooms(sidOrName).update({ status: 'completed' })) as unknown as SdkRoom)),
    listParticipants: (room, limit) => call(async (c) => (await c.video.v1.rooms(room).participants.list({ limit })).map((p) => toRoomParticipant(p as unknown as SdkRoomParticipant))),
  };
}
