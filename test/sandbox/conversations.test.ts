/**
 * Conversations v1 over HTTP against a running sandbox: a message to a conversation
 * reaches its SMS participants as SMS from their proxy number (Messages list and device
 * log), participant bindings are refused as Twilio refuses them, an inbound SMS lands in
 * the conversation and fires onMessageAdded signed, and REST actions fire webhooks only
 * with X-Twilio-Webhook-Enabled: true.
 */
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox/index.js';
import { startReceiver, type Receiver } from './calls-receiver.js';
import { basicAuth, type Form, formBody } from './http.js';

const ALICE = '+14155550100';
const BOB = '+14155550101';
let sandbox: SandboxHandle;
let receiver: Receiver;
let proxy: string;

async function api(method: string, path: string, form?: Form, headers: Record<string, string> = {}) {
  const response = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers: {
      authorization: basicAuth(sandbox.accountSid, sandbox.authToken),
      ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      ...headers,
    },
    body: form ? formBody(form) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function conversation(form: Form = {}): Promise<string> {
  const { status, json } = await api('POST', '/v1/Conversations', { FriendlyName: 'Support', ...form });
  expect(status).toBe(201);
  return json.sid;
}

async function smsParticipant(ch: string, address: string, proxyAddress = proxy) {
  return api('POST', `/v1/Conversations/${ch}/Participants`, { 'MessagingBinding.Address': address, 'MessagingBinding.ProxyAddress': proxyAddress });
}

beforeAll(async () => {
  receiver = await startReceiver('unused');
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 20, deliveredMs: 40 } });
  proxy = sandbox.testSenderNumber;
  receiver.requests.length = 0;
});
afterEach(async () => {
  await sandbox.close();
});

describe('messages reach SMS participants', () => {
  it('a message from a chat participant is an SMS from the proxy number: Messages list and device log', async () => {
    const ch = await conversation();
    expect((await smsParticipant(ch, ALICE)).status).toBe(201);
    const agent = await api('POST', `/v1/Conversations/${ch}/Participants`, { Identity: 'agent' });
    expect(agent.status).toBe(201);
    expect(agent.json.messaging_binding).toBeNull();

    const sent = await api('POST', `/v1/Conversations/${ch}/Messages`, { Author: 'agent', Body: 'Your order shipped' });
    expect(sent.status).toBe(201);
    expect(sent.json).toMatchObject({ author: 'agent', body: 'Your order shipped', index: 0, participant_sid: agent.json.sid });
    expect(sent.json.delivery.total).toBe(1);

    const list = await api('GET', `/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json?To=${encodeURIComponent(ALICE)}`);
    expect(list.json.messages).toHaveLength(1);
    expect(list.json.messages[0]).toMatchObject({ from: proxy, to: ALICE, body: 'Your order shipped', direction: 'outbound-api' });
    expect(sandbox.readDevice(ALICE)).toMatchObject([{ kind: 'sms', from: proxy, body: 'Your order shipped' }]);

    // The copy runs the Messages lifecycle, and the delivery summary follows it.
    await expect.poll(async () => (await api('GET', `/v1/Conversations/${ch}/Messages/${sent.json.sid}`)).json.delivery.delivered, { timeout: 3000 }).toBe('all');
  });

  it('never sends a participant its own message back', async () => {
    const ch = await conversation();
    await smsParticipant(ch, ALICE);
    await smsParticipant(ch, BOB);
    const sent = await api('POST', `/v1/Conversations/${ch}/Messages`, { Author: ALICE, Body: 'from alice' });
    expect(sent.json.delivery.total).toBe(1);
    expect(sandbox.readDevice(ALICE)).toEqual([]);
    expect(sandbox.readDevice(BOB)).toMatchObject([{ kind: 'sms', from: proxy, body: 'from alice' }]);
  });

  it('a WhatsApp participant gets WhatsApp from the whatsapp: proxy', async () => {
    const ch = await conversation();
    const wa = await smsParticipant(ch, `whatsapp:${ALICE}`, sandbox.whatsappSenderNumber);
    expect(wa.status).toBe(201);
    expect(wa.json.messaging_binding).toEqual({ type: 'whatsapp', address: `whatsapp:${ALICE}`, proxy_address: sandbox.whatsappSenderNumber });
    await api('POST', `/v1/Conversations/${ch}/Messages`, { Body: 'hola' });
    expect(sandbox.readDevice(ALICE)).toMatchObject([{ kind: 'whatsapp', from: sandbox.whatsappSenderNumber, body: 'hola' }]);
  });
});

describe('participants', () => {
  it('refuses the same address and proxy twice while a conversation holding them is open (409/50416)', async () => {
    const first = await conversation();
    expect((await smsParticipant(first, ALICE)).status).toBe(201);
    const again = await smsParticipant(first, ALICE);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 50416, status: 409 });
    expect(again.json.message).toContain(first);

    const second = await conversation();
    expect((await smsParticipant(second, ALICE)).json.code).toBe(50416);
    // Closing the first frees the pair.
    expect((await api('POST', `/v1/Conversations/${first}`, { State: 'closed' })).json.state).toBe('closed');
    expect((await smsParticipant(second, ALICE)).status).toBe(201);
  });

  it('refuses bindings as Twilio does', async () => {
    const ch = await conversation();
    expect((await smsParticipant(ch, ALICE, '+14155559999')).json.code).toBe(50413);
    expect((await smsParticipant(ch, 'not-a-number')).json.code).toBe(50407);
    expect((await smsParticipant(ch, ALICE, sandbox.whatsappSenderNumber)).json.code).toBe(50414);
    expect((await smsParticipant(ch, proxy, proxy)).json.code).toBe(50409);
    expect((await api('POST', `/v1/Conversations/${ch}/Participants`, { 'MessagingBinding.Address': ALICE })).json.code).toBe(50412);
    expect((await api('POST', `/v1/Conversations/${ch}/Participants`, { Identity: 'x', 'MessagingBinding.Address': ALICE, 'MessagingBinding.ProxyAddress': proxy })).json.code).toBe(50211);
    expect((await api('POST', `/v1/Conversations/${ch}/Participants`, {})).json.code).toBe(50204);
    await api('POST', `/v1/Conversations/${ch}/Participants`, { Identity: 'agent' });
    const twice = await api('POST', `/v1/Conversations/${ch}/Participants`, { Identity: 'agent' });
    expect(twice).toMatchObject({ status: 409, json: { code: 50433 } });
    expect((await api('GET', `/v1/Conversations/${ch}/Participants`)).json.participants).toHaveLength(1);
  });

  it('lists, fetches and removes participants', async () => {
    const ch = await conversation();
    const p = (await smsParticipant(ch, ALICE)).json;
    expect((await api('GET', `/v1/Conversations/${ch}/Participants/${p.sid}`)).json.sid).toBe(p.sid);
    expect((await api('DELETE', `/v1/Conversations/${ch}/Participants/${p.sid}`)).status).toBe(204);
    expect((await api('GET', `/v1/Conversations/${ch}/Participants/${p.sid}`)).json).toMatchObject({ status: 404, code: 20404 });
  });
});

describe('conversations', () => {
  it('unique names: fetch by name, a taken name is 409/50353, a closed conversation cannot change', async () => {
    const ch = await conversation({ UniqueName: 'order-42' });
    expect((await api('GET', '/v1/Conversations/order-42')).json.sid).toBe(ch);
    expect((await api('POST', '/v1/Conversations', { UniqueName: 'order-42' })).json).toMatchObject({ status: 409, code: 50353 });
    expect((await api('POST', '/v1/Conversations', { State: 'closed' })).json.code).toBe(50384);
    expect((await api('POST', '/v1/Conversations', { State: 'paused' })).json.code).toBe(50378);
    await api('POST', `/v1/Conversations/${ch}`, { State: 'closed' });
    expect((await api('POST', `/v1/Conversations/${ch}`, { FriendlyName: 'x' })).json.code).toBe(50377);
    expect((await api('POST', `/v1/Conversations/${ch}/Messages`, { Body: 'late' })).json.code).toBe(50377);
    expect((await api('GET', '/v1/Conversations?State=closed')).json.conversations.map((c: any) => c.sid)).toEqual([ch]);
    expect((await api('DELETE', `/v1/Conversations/${ch}`)).status).toBe(204);
    expect((await api('GET', `/v1/Conversations/${ch}`)).json.code).toBe(20404);
  });

  it('answers 501 for what it does not emulate', async () => {
    const ch = await conversation();
    expect((await api('GET', `/v1/Conversations/${ch}/Webhooks`)).json).toMatchObject({ status: 501, code: 20501 });
    expect((await api('POST', '/v1/Conversations', { 'Timers.Closed': 'PT10M' })).json.code).toBe(20501);
    expect((await api('POST', '/v1/Configuration/Webhooks', { PreWebhookUrl: 'https://example.com/pre' })).json.code).toBe(20501);
  });
});

describe('webhooks', () => {
  it('an inbound SMS lands in the conversation, reaches the others, and fires onMessageAdded signed', async () => {
    const ch = await conversation();
    const alice = (await smsParticipant(ch, ALICE)).json;
    await smsParticipant(ch, BOB);
    const config = sandbox.configureConversationsWebhook({ postWebhookUrl: receiver.to('/conversations'), filters: ['onMessageAdded'] });
    expect(config).toMatchObject({ method: 'POST', filters: ['onMessageAdded'] });
    // The receiver validates with the token the sandbox signs with.
    const signedBy = sandbox.authToken;

    const result = await sandbox.simulateConversationInbound({ from: ALICE, proxy, body: 'Where is my order?' });
    expect(result).toMatchObject({ conversationSid: ch, webhookUrl: receiver.to('/conversations'), webhookStatus: 200 });
    const [hook] = await receiver.waitFor('/conversations', 1);
    expect(hook!.params).toMatchObject({
      EventType: 'onMessageAdded',
      ConversationSid: ch,
      MessageSid: result.messageSid,
      Author: ALICE,
      Body: 'Where is my order?',
      ParticipantSid: alice.sid,
      Source: 'SMS',
      Index: '0',
      AccountSid: sandbox.accountSid,
    });
    expect(twilio.validateRequest(signedBy, hook!.signature, hook!.url, hook!.params)).toBe(true);
    expect(twilio.validateRequest('wrong-token', hook!.signature, hook!.url, hook!.params)).toBe(false);

    const messages = (await api('GET', `/v1/Conversations/${ch}/Messages`)).json.messages;
    expect(messages).toMatchObject([{ author: ALICE, body: 'Where is my order?', participant_sid: alice.sid }]);
    expect(sandbox.readDevice(BOB)).toMatchObject([{ from: proxy, body: 'Where is my order?' }]);
    expect(sandbox.readDevice(ALICE)).toEqual([]);
    const inbound = (await api('GET', `/2010-04-01/Accounts/${sandbox.accountSid}/Messages/${result.smsSid}.json`)).json;
    expect(inbound).toMatchObject({ direction: 'inbound', from: ALICE, to: proxy, status: 'received' });
  });

  it('also over HTTP; no conversation for the pair is 404', async () => {
    const admin = (body: unknown) =>
      fetch(`${sandbox.baseUrl}/__sandbox/conversation-inbound`, {
        method: 'POST',
        headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
    const none = await admin({ from: ALICE, proxy, body: 'hi' });
    expect(none.status).toBe(404);
    const ch = await conversation();
    await smsParticipant(ch, ALICE);
    const ok = await admin({ from: ALICE, proxy, body: 'hi' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { conversationSid: string }).conversationSid).toBe(ch);
  });

  it('REST actions fire webhooks only with X-Twilio-Webhook-Enabled: true, and only the filtered events', async () => {
    await api('POST', '/v1/Configuration/Webhooks', { PostWebhookUrl: receiver.to('/hooks'), Filters: ['onMessageAdded', 'onParticipantAdded'] });
    const ch = await conversation({}); // onConversationAdded is not in the filters
    await api('POST', `/v1/Conversations/${ch}/Messages`, { Body: 'quiet' });
    await api('POST', `/v1/Conversations/${ch}/Participants`, { Identity: 'agent' }, { 'X-Twilio-Webhook-Enabled': 'true' });
    await api('POST', `/v1/Conversations/${ch}/Messages`, { Body: 'loud', Author: 'agent' }, { 'X-Twilio-Webhook-Enabled': 'true' });
    const hooks = await receiver.waitFor('/hooks', 2);
    const events = hooks.map((h) => `${h.params.EventType}:${h.params.Body ?? h.params.Identity}`).sort();
    expect(events).toEqual(['onMessageAdded:loud', 'onParticipantAdded:agent']);
    expect(hooks.find((h) => h.params.EventType === 'onMessageAdded')!.params.Source).toBe('API');
    expect(receiver.at('/hooks')).toHaveLength(2);
  });

  it('the configuration reads back; a bad URL or filter is refused', async () => {
    const set = await api('POST', '/v1/Configuration/Webhooks', { PostWebhookUrl: 'https://example.com/hook', Filters: ['onMessageAdded'], Method: 'POST' });
    expect(set.json).toMatchObject({ post_webhook_url: 'https://example.com/hook', filters: ['onMessageAdded'], pre_webhook_url: null, target: 'webhook' });
    expect((await api('GET', '/v1/Configuration/Webhooks')).json.post_webhook_url).toBe('https://example.com/hook');
    expect((await api('POST', '/v1/Configuration/Webhooks', { PostWebhookUrl: 'ftp://example.com' })).json.code).toBe(50078);
    expect((await api('POST', '/v1/Configuration/Webhooks', { Filters: 'onEverything' })).json.code).toBe(50365);
    expect((await api('POST', '/v1/Configuration/Webhooks', { Method: 'PUT' })).json.code).toBe(50055);
  });
});
