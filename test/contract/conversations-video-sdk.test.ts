/**
 * The official `twilio` SDK as a client of the sandbox's Conversations and Video routes,
 * over the RequestClient that rewrites each product host to the sandbox (sdk-client.ts):
 * what a user's project would call, with both credentials Twilio accepts (the account's
 * token and an API key).
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from '../sandbox/calls-receiver.js';
import { sandboxRequestClient, sandboxTwilioClient } from './sdk-client.js';

let sandbox: SandboxHandle;
let receiver: Receiver;
let client: ReturnType<typeof sandboxTwilioClient>;
const ALICE = '+14155550100';

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 5, sentMs: 10, deliveredMs: 20 }, videoTiming: { msPerMinute: 10_000 } });
  receiver = await startReceiver('unused');
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

describe('Conversations through the SDK', () => {
  it('creates a conversation, an SMS participant with a messaging binding and a message that reaches the phone', async () => {
    const conversation = await client.conversations.v1.conversations.create({ friendlyName: 'Order 42', uniqueName: 'order-42-sdk' });
    expect(conversation.sid).toMatch(/^CH[0-9a-f]{32}$/);
    expect(conversation.state).toBe('active');
    expect(conversation.dateCreated).toBeInstanceOf(Date);

    const participant = await client.conversations.v1.conversations(conversation.sid).participants.create({
      'messagingBinding.address': ALICE,
      'messagingBinding.proxyAddress': sandbox.testSenderNumber,
    });
    expect(participant.messagingBinding).toEqual({ type: 'sms', address: ALICE, proxy_address: sandbox.testSenderNumber });

    const message = await client.conversations.v1.conversations('order-42-sdk').messages.create({ author: 'agent', body: 'Your order shipped' });
    expect(message).toMatchObject({ author: 'agent', body: 'Your order shipped', index: 0, conversationSid: conversation.sid });

    const sms = await client.messages.list({ to: ALICE });
    expect(sms).toMatchObject([{ from: sandbox.testSenderNumber, body: 'Your order shipped', direction: 'outbound-api' }]);
    expect(sandbox.readDevice(ALICE)[0]).toMatchObject({ kind: 'sms', from: sandbox.testSenderNumber });

    const listed = await client.conversations.v1.conversations(conversation.sid).messages.list();
    expect(listed.map((m) => m.sid)).toEqual([message.sid]);
    const closed = await client.conversations.v1.conversations(conversation.sid).update({ state: 'closed' });
    expect(closed.state).toBe('closed');
  });

  it('surfaces Twilio errors as RestException: a duplicate binding is 409/50416', async () => {
    const conversation = await client.conversations.v1.conversations.create({});
    const binding = { 'messagingBinding.address': '+14155550111', 'messagingBinding.proxyAddress': sandbox.testSenderNumber };
    await client.conversations.v1.conversations(conversation.sid).participants.create(binding);
    await expect(client.conversations.v1.conversations(conversation.sid).participants.create(binding)).rejects.toMatchObject({ status: 409, code: 50416 });
  });

  it('sets the global webhook and, with xTwilioWebhookEnabled, gets onMessageAdded signed', async () => {
    await client.conversations.v1.configuration.webhooks().update({ postWebhookUrl: receiver.to('/sdk-hook'), filters: ['onMessageAdded'], method: 'POST' });
    const fetched = await client.conversations.v1.configuration.webhooks().fetch();
    expect(fetched.filters).toEqual(['onMessageAdded']);
    const conversation = await client.conversations.v1.conversations.create({});
    await client.conversations.v1.conversations(conversation.sid).messages.create({ body: 'ping', xTwilioWebhookEnabled: 'true' });
    const [hook] = await receiver.waitFor('/sdk-hook', 1);
    expect(hook!.params).toMatchObject({ EventType: 'onMessageAdded', Body: 'ping', Source: 'API', ConversationSid: conversation.sid });
    expect(twilio.validateRequest(sandbox.authToken, hook!.signature, hook!.url, hook!.params)).toBe(true);
  });
});

describe('Video through the SDK', () => {
  it('creates a room, ends it with status completed, and the callback says room-ended', async () => {
    const room = await client.video.v1.rooms.create({ uniqueName: 'sdk-room', type: 'group', statusCallback: receiver.to('/sdk-room'), recordParticipantsOnConnect: true });
    expect(room).toMatchObject({ status: 'in-progress', uniqueName: 'sdk-room', recordParticipantsOnConnect: true });
    sandbox.joinVideoParticipant(room.sid, 'alice');
    const participants = await client.video.v1.rooms(room.sid).participants.list({ status: 'connected' });
    expect(participants.map((p) => p.identity)).toEqual(['alice']);
    await expect(client.video.v1.rooms.create({ uniqueName: 'sdk-room' })).rejects.toMatchObject({ status: 400, code: 53113 });

    const ended = await client.video.v1.rooms(room.sid).update({ status: 'completed' });
    expect(ended.status).toBe('completed');
    expect(ended.endTime).toBeInstanceOf(Date);
    expect(typeof ended.duration).toBe('number');
    const recordings = await client.video.v1.recordings.list({ groupingSid: [room.sid] });
    expect(recordings.map((r) => r.status)).toEqual(['completed', 'completed']);
    const compositions = await client.video.v1.compositions.list({ roomSid: room.sid });
    expect(compositions).toHaveLength(1);

    const hooks = await receiver.waitFor('/sdk-room', 8);
    const last = hooks.find((h) => h.params.StatusCallbackEvent === 'room-ended')!;
    expect(last.params.RoomSid).toBe(room.sid);
    expect(twilio.validateRequest(sandbox.authToken, last.signature, last.url, last.params)).toBe(true);
  });

  it('works with the API key as credential; a wrong secret is 401/20003', async () => {
    const byKey = twilio(sandbox.apiKey.sid, sandbox.apiKey.secret, { accountSid: sandbox.accountSid, httpClient: sandboxRequestClient(sandbox.baseUrl) });
    const room = await byKey.video.v1.rooms.create({});
    expect(room.accountSid).toBe(sandbox.accountSid);
    expect((await byKey.messages.list({ limit: 1 })).length).toBeLessThanOrEqual(1);
    const wrong = twilio(sandbox.apiKey.sid, 'not-the-secret', { accountSid: sandbox.accountSid, httpClient: sandboxRequestClient(sandbox.baseUrl) });
    await expect(wrong.video.v1.rooms.list()).rejects.toMatchObject({ status: 401, code: 20003 });
  });
});
