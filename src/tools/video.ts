/** Video toolset: rooms and the access tokens participants join them with. */
import { z } from 'zod';
import { defineTool } from './define-tool.js';

const RoomSchema = z.object({
  room_sid: z.string(),
  unique_name: z.string(),
  status: z.string(),
  type: z.string(),
  max_participants: z.number().nullable(),
  duration_seconds: z.number().nullable(),
  date_created: z.string().nullable(),
});

const createVideoRoom = defineTool({
  name: 'create_video_room',
  title: 'Create a video room',
  description: 'Create a video room (billed per participant-minute while used). Then create_video_access_token per participant.',
  kind: 'update',
  toolset: 'video',
  input: z.object({
    unique_name: z.string().min(1).max(128),
    type: z.enum(['group', 'peer-to-peer', 'go', 'group-small']).default('group'),
    max_participants: z.number().int().min(1).max(50).optional(),
    record_participants_on_connect: z.boolean().optional(),
  }),
  output: RoomSchema.extend({ next_step: z.string() }),
  handle: (args, { services }) => services.video.createRoom(args),
});

const listVideoRooms = defineTool({
  name: 'list_video_rooms',
  title: 'List video rooms',
  description: 'Video rooms, newest first; include_participants lists who is (or was) in each. Free.',
  kind: 'read',
  toolset: 'video',
  input: z.object({
    status: z.enum(['in-progress', 'completed']).optional(),
    unique_name: z.string().max(128).optional(),
    include_participants: z.boolean().optional(),
    limit: z.number().int().min(1).max(50).default(20),
  }),
  output: z.object({
    rooms: z.array(RoomSchema.extend({ participants: z.array(z.object({ participant_sid: z.string(), identity: z.string(), status: z.string(), duration_seconds: z.number().nullable() })).optional() })),
  }),
  handle: (args, { services }) => services.video.listRooms(args),
});

const endVideoRoom = defineTool({
  name: 'end_video_room',
  title: 'End a video room',
  description: 'End a room now: everyone in it is disconnected.',
  kind: 'destructive',
  toolset: 'video',
  input: z.object({ room: z.string().min(1).max(128).describe('Room SID (RM…) or unique name') }),
  output: RoomSchema.extend({ note: z.string() }),
  handle: (args, { services }) => services.video.endRoom(args),
});

const createVideoAccessToken = defineTool({
  name: 'create_video_access_token',
  title: 'Video access token',
  description: 'A token (JWT) letting one identity join one room. It is a credential: hand it only to that participant.',
  kind: 'update',
  toolset: 'video',
  input: z.object({
    identity: z.string().min(1).max(128),
    room: z.string().min(1).max(128).describe('Room unique name or SID'),
    ttl_seconds: z.number().int().min(60).max(86_400).optional().describe('Default 3600; at most 24 h'),
  }),
  output: z.object({ token: z.string(), identity: z.string(), room: z.string(), expires_at: z.string(), note: z.string() }),
  handle: (args, { services }) => services.video.accessToken(args),
});

export const videoTools = [createVideoRoom, listVideoRooms, endVideoRoom, createVideoAccessToken];
