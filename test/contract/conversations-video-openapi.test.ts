/**
 * Every Conversations and Video body the sandbox produces, in each state it has (chat and
 * SMS participants, delivered and undelivered messages, in-progress and completed rooms,
 * processing and completed recordings, compositions), validated against Twilio's OpenAPI
 * specs with strict objects (extra, misspelt or wrongly typed fields fail), plus the error
 * bodies. No patches were needed: the sandbox keeps to the specs as published.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { basicAuth, type Form, formBody } from '../sandbox/http.js';
import { createValidator, errorBodySchema, loadSpec } from './openapi.js';

const conversations = createValidator(loadSpec('twilio_conversations_v1.json'));
const video = createValidator(loadSpec('twilio_video_v1.json'));
const validateError = new Ajv().compile(errorBodySchema);

let sandbox: SandboxHandle;

async function api(method: string, path: string, form?: Form) {
  const response = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
    body: form ? formBody(form) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

type Validator = ReturnType<typeof createValidator>;

/** Calls the sandbox and checks the answer against the spec's operation for that status. */
async function checked(spec: Validator, specPath: string, method: string, path: string, form?: Form, expected?: number) {
  const { status, body } = await api(method, path, form);
  if (expected !== undefined) expect(status, JSON.stringify(body)).toBe(expected);
  if (status >= 400) {
    expect(validateError(body), JSON.stringify(validateError.errors)).toBe(true);
  } else if (status !== 204) {
    expect(spec.response(specPath, method.toLowerCase(), String(status), body), `${method} ${path}`).toEqual([]);
  }
  return body;
}

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 5, sentMs: 10, deliveredMs: 20 }, videoTiming: { msPerMinute: 10_000 } });
});
afterAll(async () => {
  await sandbox.close();
});

describe('Conversations v1', () => {
  it('conversations, participants, messages and the webhook configuration match the spec', async () => {
    const c = await checked(conversations, '/v1/Conversations', 'POST', '/v1/Conversations', { FriendlyName: 'Support', UniqueName: 'support-1', Attributes: '{"topic":"order"}' }, 201);
    const bare = await checked(conversations, '/v1/Conversations', 'POST', '/v1/Conversations', {}, 201);
    await checked(conversations, '/v1/Conversations/{Sid}', 'get', `/v1/Conversations/${c.sid}`, undefined, 200);
    await checked(conversations, '/v1/Conversations/{Sid}', 'get', '/v1/Conversations/support-1', undefined, 200);
    await checked(conversations, '/v1/Conversations/{Sid}', 'post', `/v1/Conversations/${bare.sid}`, { State: 'inactive' }, 200);

    const sms = await checked(conversations, '/v1/Conversations/{ConversationSid}/Participants', 'post', `/v1/Conversations/${c.sid}/Participants`, { 'MessagingBinding.Address': '+14155550100', 'MessagingBinding.ProxyAddress': sandbox.testSenderNumber }, 201);
    // +15005550002 is a magic "unreachable" To: its copy is refused, the message still stands.
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Participants', 'post', `/v1/Conversations/${c.sid}/Participants`, { 'MessagingBinding.Address': '+15005550002', 'MessagingBinding.ProxyAddress': sandbox.testSenderNumber }, 201);
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Participants', 'post', `/v1/Conversations/${c.sid}/Participants`, { Identity: 'agent', Attributes: '{}' }, 201);
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Participants', 'get', `/v1/Conversations/${c.sid}/Participants?PageSize=2`, undefined, 200);
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Participants/{Sid}', 'get', `/v1/Conversations/${c.sid}/Participants/${sms.sid}`, undefined, 200);

    const m = await checked(conversations, '/v1/Conversations/{ConversationSid}/Messages', 'post', `/v1/Conversations/${c.sid}/Messages`, { Author: 'agent', Body: 'Hello' }, 201);
    expect(m.delivery).not.toBeNull();
    const chatOnly = await checked(conversations, '/v1/Conversations', 'POST', '/v1/Conversations', {}, 201);
    const silent = await checked(conversations, '/v1/Conversations/{ConversationSid}/Messages', 'post', `/v1/Conversations/${chatOnly.sid}/Messages`, { Body: 'nobody on SMS' }, 201);
    expect(silent.delivery).toBeNull();
    // The SMS copies settle (one delivered, one refused), and the message is read in that state.
    await expect.poll(async () => (await api('GET', `/v1/Conversations/${c.sid}/Messages/${m.sid}`)).body.delivery.delivered, { timeout: 5000, interval: 10 }).toBe('some');
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Messages/{Sid}', 'get', `/v1/Conversations/${c.sid}/Messages/${m.sid}`, undefined, 200);
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Messages', 'get', `/v1/Conversations/${c.sid}/Messages?Order=desc`, undefined, 200);
    await sandbox.simulateConversationInbound({ from: '+14155550100', proxy: sandbox.testSenderNumber, body: 'Thanks' });
    await checked(conversations, '/v1/Conversations/{ConversationSid}/Messages', 'get', `/v1/Conversations/${c.sid}/Messages`, undefined, 200);
    await checked(conversations, '/v1/Conversations', 'get', '/v1/Conversations?PageSize=1', undefined, 200);
    await checked(conversations, '/v1/Conversations', 'get', '/v1/Conversations?State=inactive', undefined, 200);

    await checked(conversations, '/v1/Configuration/Webhooks', 'get', '/v1/Configuration/Webhooks', undefined, 200);
    await checked(conversations, '/v1/Configuration/Webhooks', 'post', '/v1/Configuration/Webhooks', { PostWebhookUrl: 'https://example.com/hook', Filters: ['onMessageAdded', 'onConversationAdded'] }, 200);

    await checked(conversations, '/v1/Conversations/{Sid}', 'post', `/v1/Conversations/${c.sid}`, { State: 'closed' }, 200);
    await checked(conversations, '', 'post', `/v1/Conversations/${c.sid}/Participants`, { Identity: 'late' }, 400);
    await checked(conversations, '', 'post', '/v1/Conversations', { UniqueName: 'support-1' }, 409);
    await checked(conversations, '', 'get', `/v1/Conversations/CH${'0'.repeat(32)}`, undefined, 404);
    await checked(conversations, '', 'get', `/v1/Conversations/${c.sid}/Messages/${m.sid}/Receipts`, undefined, 501);
    await checked(conversations, '', 'delete', `/v1/Conversations/${c.sid}`, undefined, 204);
  });
});

describe('Video v1', () => {
  it('rooms, participants, recordings and compositions match the spec in each state', async () => {
    const r = await checked(video, '/v1/Rooms', 'post', '/v1/Rooms', { UniqueName: 'daily', RecordParticipantsOnConnect: 'true', StatusCallback: 'https://example.com/room' }, 201);
    await checked(video, '/v1/Rooms', 'post', '/v1/Rooms', { Type: 'peer-to-peer' }, 201);
    await checked(video, '/v1/Rooms', 'post', '/v1/Rooms', { Type: 'go', AudioOnly: 'true' }, 201);
    await checked(video, '/v1/Rooms/{Sid}', 'get', '/v1/Rooms/daily', undefined, 200);
    const alice = sandbox.joinVideoParticipant(r.sid, 'alice');
    sandbox.joinVideoParticipant(r.sid, 'bob');
    await checked(video, '/v1/Rooms/{RoomSid}/Participants', 'get', `/v1/Rooms/${r.sid}/Participants`, undefined, 200);
    await checked(video, '/v1/Rooms/{RoomSid}/Participants/{Sid}', 'get', `/v1/Rooms/${r.sid}/Participants/${alice.sid}`, undefined, 200);
    await checked(video, '/v1/Recordings', 'get', `/v1/Recordings?GroupingSid=${r.sid}`, undefined, 200);
    await checked(video, '/v1/Rooms/{RoomSid}/Participants/{Sid}', 'post', `/v1/Rooms/${r.sid}/Participants/${alice.sid}`, { Status: 'disconnected' }, 202);
    await checked(video, '/v1/Rooms/{Sid}', 'post', `/v1/Rooms/${r.sid}`, { Status: 'completed' }, 202);
    await checked(video, '/v1/Rooms/{Sid}', 'get', `/v1/Rooms/${r.sid}`, undefined, 200);
    await checked(video, '/v1/Rooms', 'get', '/v1/Rooms?Status=completed', undefined, 200);
    await checked(video, '/v1/Rooms', 'get', '/v1/Rooms?PageSize=1', undefined, 200);
    await checked(video, '/v1/Rooms/{RoomSid}/Participants', 'get', `/v1/Rooms/${r.sid}/Participants?Status=disconnected`, undefined, 200);
    const recordings = await checked(video, '/v1/Recordings', 'get', '/v1/Recordings?Status=completed', undefined, 200);
    expect(recordings.recordings).toHaveLength(4);
    await checked(video, '/v1/Recordings/{Sid}', 'get', `/v1/Recordings/${recordings.recordings[0].sid}`, undefined, 200);
    const compositions = await checked(video, '/v1/Compositions', 'get', '/v1/Compositions', undefined, 200);
    expect(compositions.compositions).toHaveLength(1);
    await checked(video, '/v1/Compositions/{Sid}', 'get', `/v1/Compositions/${compositions.compositions[0].sid}`, undefined, 200);

    await checked(video, '', 'post', '/v1/Rooms', { Type: 'huge' }, 400);
    await checked(video, '', 'post', `/v1/Rooms/${r.sid}`, { Status: 'completed' }, 400);
    await checked(video, '', 'get', `/v1/Recordings/RT${'0'.repeat(32)}`, undefined, 404);
    await checked(video, '', 'post', '/v1/Compositions', { RoomSid: r.sid }, 501);
  });
});
