/**
 * Video v1 over HTTP against a running sandbox: a room's life from creation to
 * `completed` with signed status callbacks, scripted participants, recordings and the
 * composition of a recorded room, the empty and unused room timeouts on a short simulated
 * minute, Twilio's refusals, and Basic auth with the sandbox's API key.
 */
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { basicAuth, type Form, formBody } from './http.js';

let sandbox: SandboxHandle;
let receiver: Receiver;
const MS_PER_MINUTE = 20;

async function api(method: string, path: string, form?: Form, authorization = basicAuth(sandbox.accountSid, sandbox.authToken)) {
  const response = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers: { authorization, ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
    body: form ? formBody(form) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

async function room(form: Form = {}) {
  const { status, json } = await api('POST', '/v1/Rooms', form);
  expect(status).toBe(201);
  return json;
}

beforeAll(async () => {
  receiver = await startReceiver('unused');
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(async () => {
  sandbox = await startSandbox({ videoTiming: { msPerMinute: MS_PER_MINUTE } });
  receiver.requests.length = 0;
});
afterEach(async () => {
  await sandbox.close();
});

describe('room lifecycle', () => {
  it('runs from in-progress to completed with recordings, a composition and signed callbacks', async () => {
    // Long timeouts so only the REST call ends this room.
    const created = await room({ UniqueName: 'standup', StatusCallback: receiver.to('/room'), RecordParticipantsOnConnect: 'true', EmptyRoomTimeout: '60', UnusedRoomTimeout: '60' });
    expect(created).toMatchObject({ status: 'in-progress', unique_name: 'standup', type: 'group', max_participants: 50, end_time: null, duration: null });
    expect((await api('POST', '/v1/Rooms', { UniqueName: 'standup' })).json).toMatchObject({ status: 400, code: 53113 });
    expect((await api('GET', '/v1/Rooms/standup')).json.sid).toBe(created.sid);

    const alice = sandbox.joinVideoParticipant('standup', 'alice');
    const bobReply = await fetch(`${sandbox.baseUrl}/__sandbox/video-participants`, {
      method: 'POST',
      headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/json' },
      body: JSON.stringify({ room: created.sid, identity: 'bob' }),
    });
    expect(bobReply.status).toBe(201);
    expect(alice).toMatchObject({ status: 'connected', identity: 'alice', room_sid: created.sid });
    const connected = (await api('GET', `/v1/Rooms/${created.sid}/Participants?Status=connected`)).json.participants;
    expect(connected.map((p: any) => p.identity).sort()).toEqual(['alice', 'bob']);
    const recording = (await api('GET', `/v1/Recordings?GroupingSid=${created.sid}`)).json.recordings;
    expect(recording).toHaveLength(4);
    expect(new Set(recording.map((r: any) => r.status))).toEqual(new Set(['processing']));

    const ended = await api('POST', `/v1/Rooms/${created.sid}`, { Status: 'completed' });
    expect(ended.status).toBe(202);
    expect(ended.json.status).toBe('completed');
    expect(typeof ended.json.duration).toBe('number');
    expect(ended.json.end_time).toMatch(/Z$/);
    expect((await api('POST', `/v1/Rooms/${created.sid}`, { Status: 'completed' })).json.code).toBe(53118);
    expect((await api('GET', `/v1/Rooms/${created.sid}/Participants/${alice.sid}`)).json.status).toBe('disconnected');
    const done = (await api('GET', `/v1/Recordings?GroupingSid=${alice.sid}&Status=completed`)).json.recordings;
    expect(done.map((r: any) => r.type).sort()).toEqual(['audio', 'video']);
    const compositions = (await api('GET', `/v1/Compositions?RoomSid=${created.sid}`)).json.compositions;
    expect(compositions).toMatchObject([{ room_sid: created.sid, status: 'completed', format: 'mp4' }]);
    expect((await api('GET', `/v1/Compositions/${compositions[0].sid}`)).json.sid).toBe(compositions[0].sid);

    // Each callback is its own POST, so arrival order may differ: SequenceNumber orders them.
    const hooks = (await receiver.waitFor('/room', 14)).sort((a, b) => Number(a.params.SequenceNumber) - Number(b.params.SequenceNumber));
    expect(hooks.every((h) => twilio.validateRequest(sandbox.authToken, h.signature, h.url, h.params))).toBe(true);
    const events = hooks.map((h) => h.params.StatusCallbackEvent);
    expect(events[0]).toBe('room-created');
    expect(events.at(-1)).toBe('room-ended');
    expect(events.filter((e) => e === 'participant-connected')).toHaveLength(2);
    expect(events.filter((e) => e === 'participant-disconnected')).toHaveLength(2);
    expect(events.filter((e) => e === 'recording-started')).toHaveLength(4);
    expect(events.filter((e) => e === 'recording-completed')).toHaveLength(4);
    expect(hooks.at(-1)!.params).toMatchObject({ RoomSid: created.sid, RoomName: 'standup', RoomStatus: 'completed', RoomDuration: String(ended.json.duration) });
    expect(hooks.map((h) => Number(h.params.SequenceNumber))).toEqual([...hooks.keys()]);

    // The name is free again once the room has ended.
    expect((await room({ UniqueName: 'standup' })).sid).not.toBe(created.sid);
  });

  it('an emptied room completes after EmptyRoomTimeout simulated minutes', async () => {
    // 25 simulated minutes (500 ms): room enough that a loaded machine still sees it in progress first.
    const created = await room({ EmptyRoomTimeout: '25', UnusedRoomTimeout: '60' });
    const alice = sandbox.joinVideoParticipant(created.sid, 'alice');
    const left = await api('POST', `/v1/Rooms/${created.sid}/Participants/${alice.sid}`, { Status: 'disconnected' });
    expect(left).toMatchObject({ status: 202, json: { status: 'disconnected' } });
    expect((await api('GET', `/v1/Rooms/${created.sid}`)).json.status).toBe('in-progress');
    await expect.poll(async () => (await api('GET', `/v1/Rooms/${created.sid}`)).json.status, { timeout: 5000, interval: 10 }).toBe('completed');
  });

  it('a room nobody joins completes after UnusedRoomTimeout; one with a participant stays', async () => {
    // The used room gets 60 simulated minutes (1.2 s) to be joined, so a loaded machine still
    // joins it in time; the test then waits past that deadline to see the join kept it open.
    const used = await room({ UnusedRoomTimeout: '60' });
    const joinedAt = Date.now();
    sandbox.joinVideoParticipant(used.sid, 'alice');
    const unused = await room({ UnusedRoomTimeout: '1' });
    await expect.poll(async () => (await api('GET', `/v1/Rooms/${unused.sid}`)).json.status, { timeout: 2000, interval: 10 }).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, joinedAt + MS_PER_MINUTE * 63 - Date.now())));
    expect((await api('GET', `/v1/Rooms/${used.sid}`)).json.status).toBe('in-progress');
    expect((await api('GET', '/v1/Rooms?Status=completed')).json.rooms.map((r: any) => r.sid)).toEqual([unused.sid]);
  });
});

describe('refusals', () => {
  it('answers Twilio codes', async () => {
    expect((await api('POST', '/v1/Rooms', { Type: 'huge' })).json.code).toBe(53108);
    expect((await api('POST', '/v1/Rooms', { MaxParticipants: '51' })).json.code).toBe(53107);
    expect((await api('POST', '/v1/Rooms', { Type: 'peer-to-peer', RecordParticipantsOnConnect: 'true' })).json.code).toBe(53114);
    expect((await api('POST', '/v1/Rooms', { StatusCallback: 'ftp://x' })).json.code).toBe(53111);
    expect((await api('POST', '/v1/Rooms', { MediaRegion: 'mars1' })).json.code).toBe(53115);
    const small = await room({ MaxParticipants: '1', UnusedRoomTimeout: '60' });
    expect((await api('POST', `/v1/Rooms/${small.sid}`, { Status: 'in-progress' })).json.code).toBe(53112);
    sandbox.joinVideoParticipant(small.sid, 'alice');
    expect(() => sandbox.joinVideoParticipant(small.sid, 'bob')).toThrow(/too many Participants/);
    // The same identity again replaces the connected one (Twilio's duplicate identity rule).
    sandbox.joinVideoParticipant(small.sid, 'alice');
    const all = (await api('GET', `/v1/Rooms/${small.sid}/Participants`)).json.participants;
    expect(all.map((p: any) => p.status).sort()).toEqual(['connected', 'disconnected']);
    expect((await api('GET', `/v1/Rooms/RM${'0'.repeat(32)}`)).json).toMatchObject({ status: 404, code: 20404 });
    expect((await api('GET', `/v1/Rooms/${small.sid}/Recordings`)).json).toMatchObject({ status: 501, code: 20501 });
  });
});

describe('API key auth', () => {
  it('accepts SK…:secret on every product, refuses a wrong secret with 401/20003', async () => {
    const key = sandbox.apiKey;
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(key.secret).toMatch(/^[0-9a-f]{32}$/);
    const byKey = basicAuth(key.sid, key.secret);
    expect((await api('GET', '/v1/Rooms', undefined, byKey)).status).toBe(200);
    expect((await api('GET', `/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, undefined, byKey)).status).toBe(200);
    expect((await api('POST', '/v1/Conversations', { FriendlyName: 'k' }, byKey)).status).toBe(201);
    const wrongSecret = key.secret.slice(0, -1) + (key.secret.endsWith('0') ? '1' : '0');
    const wrong = await api('GET', '/v1/Rooms', undefined, basicAuth(key.sid, wrongSecret));
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: 20003, status: 401 });
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
    // The key is not an account: its secret does not go with the account SID, nor the token with the key.
    expect((await api('GET', '/v1/Rooms', undefined, basicAuth(sandbox.accountSid, key.secret))).status).toBe(401);
    expect((await api('GET', '/v1/Rooms', undefined, basicAuth(key.sid, sandbox.authToken))).status).toBe(401);
  });

  it('a new start has a new secret for the same SID', async () => {
    const other = await startSandbox();
    try {
      expect(other.apiKey.sid).toBe(sandbox.apiKey.sid);
      expect(other.apiKey.secret).not.toBe(sandbox.apiKey.secret);
    } finally {
      await other.close();
    }
  });
});
