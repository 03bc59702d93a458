/**
 * Receiver behaviour that mutation testing (focused Stryker run on receiver.ts) showed weakly
 * held: a HELP never opts anyone back in; MMS media and channels; Twilio's older parameter
 * names; error codes in status callbacks; Conversations and recording callbacks; the events
 * wait_for_reply follows; the words of every refusal and what an operator reads in the log;
 * the exact body-size limit; repeated form keys; a public URL with trailing slashes; which
 * refusals count towards the bad-signature limit. Unit level: a real SQLite store behind a
 * real HTTP listener, no server.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { EventHub, type TwilioEvent } from '../../src/services/events.js';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import type { Ingest, Store, WebhookEvent } from '../../src/store/store.js';
import { startWebhookListener } from '../../src/transports/webhook-listener.js';
import { log } from '../../src/util/log.js';
import { createWebhookReceiver, EMPTY_TWIML, MAX_WEBHOOK_BODY_BYTES, type WebhookReceiverOptions } from '../../src/webhooks/receiver.js';

const TOKEN = 'abcdef0123456789abcdef0123456789';
const PUBLIC = 'https://example.com/twilio';
const INBOUND = '/webhooks/twilio/messages/inbound';
const STATUS = '/webhooks/twilio/messages/status';
const CALLS = '/webhooks/twilio/calls/status';
const RECORDINGS = '/webhooks/twilio/recordings';
const CONVERSATIONS = '/webhooks/twilio/conversations';
const NUMBER = '+15005550006';
const SERVICE = `MG${'6'.repeat(32)}`;

let n = 0;
const sid = (prefix: string) => `${prefix}${(++n).toString(16).padStart(32, 'a')}`;

interface Harness {
  url: string;
  store: Store;
  events: TwilioEvent[];
  /** What the receiver asked the store to commit, in order. */
  ingested: Array<{ event: WebhookEvent; change: Ingest }>;
}
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function harness(overrides: Partial<WebhookReceiverOptions> = {}, storeOverride?: (real: Store) => Store): Promise<Harness> {
  const real = openStoreInDir(mkdtempSync(join(tmpdir(), 'mcp-twilio-recv-surv-')));
  const ingested: Harness['ingested'] = [];
  const recording = new Proxy(real, {
    get(target, key) {
      if (key === 'ingestBatch') {
        return async (items: Array<{ event: WebhookEvent; change: Ingest }>) => {
          ingested.push(...items);
          return target.ingestBatch(items);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = storeOverride ? storeOverride(recording) : recording;
  const hub = new EventHub();
  const events: TwilioEvent[] = [];
  hub.subscribe((e) => void events.push(e));
  const receiver = createWebhookReceiver({ publicBaseUrl: () => PUBLIC, authTokens: async () => [TOKEN], verifySignatures: true, store: async () => store, events: hub, ...overrides });
  const listener = await startWebhookListener(receiver.handle, '127.0.0.1', 0);
  closers.push(async () => {
    await listener.close();
    await real.close();
  });
  return { url: listener.url, store: real, events, ingested };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A POST through node:http, so hop-by-hop headers (connection) are visible. */
function send(
  h: { url: string },
  path: string,
  options: { params?: Record<string, string>; body?: string; headers?: Record<string, string | number>; signedFor?: string; unsigned?: boolean; method?: string; localAddress?: string } = {},
): Promise<Answer> {
  const params = options.params ?? {};
  const body = options.body ?? new URLSearchParams(params).toString();
  const signature = options.unsigned ? undefined : getExpectedTwilioSignature(TOKEN, options.signedFor ?? `${PUBLIC}${path}`, options.body === undefined ? params : {});
  return new Promise((resolve, reject) => {
    const req = request(`${h.url}${path}`, {
      method: options.method ?? 'POST',
      ...(options.localAddress && { localAddress: options.localAddress }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
        ...(signature && { 'x-twilio-signature': signature }),
        ...options.headers,
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.method === 'GET' ? undefined : body);
  });
}

const inbound = (body: string, extra: Record<string, string> = {}) => {
  const messageSid = sid('SM');
  return { MessageSid: messageSid, SmsSid: messageSid, AccountSid: `AC${'1'.repeat(32)}`, From: '+14155550900', To: NUMBER, Body: body, NumMedia: '0', ApiVersion: '2010-04-01', ...extra };
};

let main: Harness;
const mainHarness = async () => (main ??= await harness());

describe('STOP / START / HELP', () => {
  it('a HELP after a STOP leaves the person opted out (HELP is neither an opt-out nor an opt-in)', async () => {
    const h = await mainHarness();
    const from = '+14155550901';
    await send(h, INBOUND, { params: inbound('STOP', { From: from, MessagingServiceSid: SERVICE }) });
    expect(await h.store.isOptedOut([SERVICE], from)).toBeDefined();
    const help = await send(h, INBOUND, { params: inbound('help', { From: from, MessagingServiceSid: SERVICE }) });
    expect(help.status).toBe(200);
    expect((await h.store.isOptedOut([SERVICE], from))?.keyword).toBe('STOP');
    expect((await h.store.isOptedOut([NUMBER], from))?.keyword).toBe('STOP');
    // Twilio's Advanced Opt-Out reporting HELP does not opt in either.
    await send(h, INBOUND, { params: inbound('aide', { From: from, MessagingServiceSid: SERVICE, OptOutType: 'HELP' }) });
    expect(await h.store.isOptedOut([SERVICE], from)).toBeDefined();
    expect((await h.store.listOptOutAudit({ recipient: from, limit: 10 })).map((a) => a.action)).toEqual(['add', 'add']);
  });
});

describe('inbound messages', () => {
  it('stores MMS media (URL and type) and calls the message mms; at most 10 media; a media without URL is dropped', async () => {
    const h = await mainHarness();
    const from = '+14155550902';
    const media = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [[`MediaUrl${i}`, `https://api.twilio.com/media/ME${i}`], [`MediaContentType${i}`, 'image/jpeg']]).flat());
    await send(h, INBOUND, { params: inbound('two pictures', { From: from, NumMedia: '2', ...media(2) }) });
    await send(h, INBOUND, { params: inbound('twelve pictures', { From: from, NumMedia: '12', ...media(12) }) });
    // NumMedia says 3 but the second has no URL; the third has no content type.
    await send(h, INBOUND, { params: inbound('gaps', { From: from, NumMedia: '3', MediaUrl0: 'https://m/0', MediaContentType0: 'image/png', MediaUrl2: 'https://m/2' }) });
    const byBody = Object.fromEntries((await h.store.listInbound({ from, limit: 10 })).map((m) => [m.body, m]));
    expect(byBody['two pictures']).toMatchObject({
      channel: 'mms',
      media: [
        { url: 'https://api.twilio.com/media/ME0', contentType: 'image/jpeg' },
        { url: 'https://api.twilio.com/media/ME1', contentType: 'image/jpeg' },
      ],
    });
    expect(byBody['twelve pictures']?.media).toHaveLength(10);
    expect(byBody['twelve pictures']?.media.at(-1)?.url).toBe('https://api.twilio.com/media/ME9');
    expect(byBody.gaps?.media).toEqual([
      { url: 'https://m/0', contentType: 'image/png' },
      { url: 'https://m/2', contentType: null },
    ]);
  });

  it('a text without media is sms (NumMedia absent or unreadable); no service and no profile name are null', async () => {
    const h = await mainHarness();
    const { NumMedia: _absent, ...noNumMedia } = inbound('plain');
    await send(h, INBOUND, { params: noNumMedia });
    await send(h, INBOUND, { params: inbound('garbled', { NumMedia: 'lots', MediaUrl0: 'https://m/0' }) });
    const rows = await h.store.listInbound({ from: '+14155550900', limit: 50 });
    expect(rows.find((m) => m.body === 'plain')).toMatchObject({ channel: 'sms', media: [], messagingServiceSid: null, profileName: null, keyword: null });
    expect(rows.find((m) => m.body === 'garbled')).toMatchObject({ channel: 'sms', media: [] });
    // A picture without a caption may come without Body at all: the text is empty, not invented.
    const { Body: _noBody, ...captionless } = inbound('', { From: '+14155550909', NumMedia: '1', MediaUrl0: 'https://m/only' });
    expect((await send(h, INBOUND, { params: captionless })).status).toBe(200);
    expect((await h.store.listInbound({ from: '+14155550909', limit: 1 }))[0]).toMatchObject({ body: '', channel: 'mms', keyword: null });
  });

  it("accepts Twilio's older parameter names (SmsMessageSid; SmsSid and SmsStatus)", async () => {
    const h = await mainHarness();
    const messageSid = sid('SM');
    const { MessageSid: _m, SmsSid: _s, ...rest } = inbound('legacy');
    expect((await send(h, INBOUND, { params: { ...rest, SmsMessageSid: messageSid } })).status).toBe(200);
    expect((await h.store.listInbound({ limit: 50 })).find((m) => m.body === 'legacy')?.messageSid).toBe(messageSid);

    const statusSid = sid('SM');
    expect((await send(h, STATUS, { params: { SmsSid: statusSid, SmsStatus: 'delivered' } })).status).toBe(204);
    expect((await h.store.getMessageStatus(statusSid))?.current).toBe('delivered');
  });

  it('publishes what wait_for_reply follows: the message SID, its sender and the number it reached', async () => {
    const h = await harness();
    const params = inbound('are you there?', { From: '+14155550904' });
    await send(h, INBOUND, { params });
    expect(h.events).toEqual([{ kind: 'inbound_message', messageSid: params.MessageSid, from: '+14155550904', to: NUMBER }]);
  });
});

describe('status callbacks', () => {
  it("stores Twilio's error code with a failed status; zero, negative, fractional or unreadable codes are none", async () => {
    const h = await mainHarness();
    const cases: Array<[string, number | null]> = [['30003', 30003], ['0', null], ['-5', null], ['1.5', null], ['abc', null], ['', null]];
    for (const [code, stored] of cases) {
      const messageSid = sid('SM');
      expect((await send(h, STATUS, { params: { MessageSid: messageSid, MessageStatus: 'undelivered', ErrorCode: code } })).status).toBe(204);
      const record = await h.store.getMessageStatus(messageSid);
      expect(record?.errorCode, `ErrorCode=${code}`).toBe(stored);
      expect(record?.history[0]?.errorCode, `ErrorCode=${code}`).toBe(stored);
    }
    const callSid = sid('CA');
    await send(h, CALLS, { params: { CallSid: callSid, CallStatus: 'failed', ErrorCode: '13224' } });
    expect((await h.store.getCallStatus(callSid))?.errorCode).toBe(13224);
  });

  it('publishes the status to followers', async () => {
    const h = await harness();
    const messageSid = sid('SM');
    await send(h, STATUS, { params: { MessageSid: messageSid, MessageStatus: 'delivered' } });
    expect(h.events).toEqual([{ kind: 'message_status', sid: messageSid, status: 'delivered' }]);
  });

  it('an empty idempotency token is no token: two different callbacks carrying one are both stored', async () => {
    const h = await mainHarness();
    const a = sid('SM');
    const b = sid('SM');
    await send(h, STATUS, { params: { MessageSid: a, MessageStatus: 'sent' }, headers: { 'i-twilio-idempotency-token': '' } });
    await send(h, STATUS, { params: { MessageSid: b, MessageStatus: 'sent' }, headers: { 'i-twilio-idempotency-token': '' } });
    expect((await h.store.getMessageStatus(a))?.current).toBe('sent');
    expect((await h.store.getMessageStatus(b))?.current).toBe('sent');
  });

  it('a JSON status callback with a numeric error code stores the code', async () => {
    const h = await mainHarness();
    const callSid = sid('CA');
    const body = JSON.stringify({ CallSid: callSid, CallStatus: 'failed', ErrorCode: 31005, Duration: null, Extra: { nested: true } });
    const query = `?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const res = await send(h, `${CALLS}${query}`, { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(204);
    expect((await h.store.getCallStatus(callSid))?.errorCode).toBe(31005);
  });
});

describe('Conversations callbacks', () => {
  it("a participant's message reaches the inbox from its author, to the conversation, on the channel its Source names", async () => {
    const h = await harness();
    const conversation = `CH${'c'.repeat(32)}`;
    const post = (source: string | undefined, author: string, body: string) => {
      const messageSid = sid('IM');
      return send(h, CONVERSATIONS, {
        params: { EventType: 'onMessageAdded', ConversationSid: conversation, MessageSid: messageSid, Author: author, Body: body, ...(source !== undefined && { Source: source }) },
      }).then((res) => ({ res, messageSid }));
    };
    const sms = await post('SMS', '+14155550905', 'by text');
    expect(sms.res.status).toBe(204);
    await post('WhatsApp', 'whatsapp:+14155550906', 'by whatsapp');
    await post(undefined, 'ada@example.com', 'in the app');
    // A message with only media has no Body: its text is empty.
    await send(h, CONVERSATIONS, { params: { EventType: 'onMessageAdded', ConversationSid: conversation, MessageSid: sid('IM'), Author: 'bob@example.com', Source: 'SDK' } });
    const rows = await h.store.listInbound({ limit: 10 });
    const byBody = Object.fromEntries(rows.map((m) => [m.body, m]));
    expect(byBody['by text']).toMatchObject({ messageSid: sms.messageSid, from: '+14155550905', to: conversation, channel: 'sms', media: [], messagingServiceSid: null, keyword: null });
    expect(byBody['by whatsapp']).toMatchObject({ from: 'whatsapp:+14155550906', channel: 'whatsapp' });
    expect(byBody['in the app']).toMatchObject({ from: 'ada@example.com', channel: 'conversation' });
    expect(byBody['']).toMatchObject({ from: 'bob@example.com', channel: 'conversation' });
    expect(h.events).toContainEqual({ kind: 'inbound_message', messageSid: sms.messageSid, from: '+14155550905', to: conversation });
  });

  it('a STOP posted to a conversation is a message, not an opt-out', async () => {
    const h = await mainHarness();
    const conversation = `CH${'d'.repeat(32)}`;
    await send(h, CONVERSATIONS, { params: { EventType: 'onMessageAdded', ConversationSid: conversation, MessageSid: sid('IM'), Author: '+14155550907', Body: 'STOP', Source: 'SMS' } });
    expect((await h.store.listInbound({ from: '+14155550907', limit: 1 }))[0]).toMatchObject({ body: 'STOP', keyword: null });
    expect(await h.store.listOptOutAudit({ recipient: '+14155550907', limit: 10 })).toEqual([]);
  });

  it('other conversation events are kept (about the message, participant or conversation) but reach neither inbox nor followers', async () => {
    const h = await harness();
    const conversation = `CH${'e'.repeat(32)}`;
    const participant = `MB${'1'.repeat(32)}`;
    expect((await send(h, CONVERSATIONS, { params: { EventType: 'onParticipantAdded', ConversationSid: conversation, ParticipantSid: participant } })).status).toBe(204);
    await send(h, CONVERSATIONS, { params: { EventType: 'onConversationStateUpdated', ConversationSid: conversation, StateTo: 'closed' } });
    const messageSid = sid('IM');
    await send(h, CONVERSATIONS, { params: { EventType: 'onMessageUpdated', ConversationSid: conversation, MessageSid: messageSid, Author: 'x', Body: 'edited' } });
    expect(await h.store.listInbound({ limit: 10 })).toEqual([]);
    expect(h.events).toEqual([]);
    expect(h.ingested.map((i) => [i.event.kind, i.event.sid, i.event.status, i.change])).toEqual([
      ['conversation_event', participant, 'onParticipantAdded', { kind: 'conversation_event' }],
      ['conversation_event', conversation, 'onConversationStateUpdated', { kind: 'conversation_event' }],
      ['conversation_event', messageSid, 'onMessageUpdated', { kind: 'conversation_event' }],
    ]);
  });

  it('answers 400 naming what is missing: no EventType, or a message without its Author', async () => {
    const h = await mainHarness();
    const noType = await send(h, CONVERSATIONS, { params: { ConversationSid: `CH${'f'.repeat(32)}` } });
    expect(noType).toMatchObject({ status: 400, body: 'bad webhook: missing EventType' });
    const noAuthor = await send(h, CONVERSATIONS, { params: { EventType: 'onMessageAdded', ConversationSid: `CH${'f'.repeat(32)}`, MessageSid: sid('IM'), Body: 'hi' } });
    expect(noAuthor).toMatchObject({ status: 400, body: 'bad webhook: missing Author' });
  });
});

describe('recording callbacks', () => {
  it('stores the recording (call, status, URL, duration) and tells followers of the call', async () => {
    const h = await harness();
    const recordingSid = sid('RE');
    const callSid = sid('CA');
    const res = await send(h, RECORDINGS, { params: { RecordingSid: recordingSid, CallSid: callSid, RecordingStatus: 'completed', RecordingUrl: `https://api.twilio.com/rec/${recordingSid}`, RecordingDuration: '12' } });
    expect(res.status).toBe(204);
    expect(h.ingested.at(-1)?.change).toMatchObject({ kind: 'recording', recordingSid, callSid, status: 'completed', url: `https://api.twilio.com/rec/${recordingSid}`, durationSeconds: 12 });
    expect(h.ingested.at(-1)?.event).toMatchObject({ kind: 'recording', sid: recordingSid, status: 'completed' });
    expect(h.events).toEqual([{ kind: 'call_status', sid: callSid, status: 'recording-completed' }]);
  });

  it('without a status, call or duration: completed, followed by its own SID, duration unknown', async () => {
    const h = await harness();
    const recordingSid = sid('RE');
    await send(h, RECORDINGS, { params: { RecordingSid: recordingSid } });
    await send(h, RECORDINGS, { params: { RecordingSid: sid('RE'), RecordingStatus: 'failed', RecordingDuration: 'n/a' } });
    expect(h.ingested.map((i) => i.change)).toMatchObject([
      { kind: 'recording', recordingSid, callSid: null, status: 'completed', url: null, durationSeconds: null },
      { kind: 'recording', status: 'failed', durationSeconds: null },
    ]);
    expect(h.events[0]).toEqual({ kind: 'call_status', sid: recordingSid, status: 'recording-completed' });
  });

  it('answers 400 to a recording callback without its RecordingSid', async () => {
    const h = await mainHarness();
    expect(await send(h, RECORDINGS, { params: { CallSid: sid('CA') } })).toMatchObject({ status: 400, body: 'bad webhook: missing RecordingSid' });
  });
});

describe('answers', () => {
  it('a refusal says what is wrong, as text, and closes the connection; a success keeps it', async () => {
    const h = await mainHarness();
    const forged = await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' }, headers: { 'x-twilio-signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' } });
    expect(forged).toMatchObject({ status: 403, body: 'invalid or missing X-Twilio-Signature' });
    expect(forged.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(forged.headers.connection).toBe('close');

    const missing = await send(h, STATUS, { params: { MessageStatus: 'sent' } });
    expect(missing).toMatchObject({ status: 400, body: 'bad webhook: missing SmsSid' });
    expect(missing.headers.connection).toBe('close');

    const ok = await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } });
    expect(ok.status).toBe(204);
    expect(ok.body).toBe('');
    expect(ok.headers.connection).not.toBe('close');

    const reply = await send(h, INBOUND, { params: inbound('hello') });
    expect(reply).toMatchObject({ status: 200, body: EMPTY_TWIML });
    expect(reply.headers['content-type']).toBe('text/xml');
    expect(reply.headers.connection).not.toBe('close');
  });

  it('an unknown route is 404 listing the routes; GET is 405 with Allow: POST', async () => {
    const h = await mainHarness();
    const unknown = await send(h, '/webhooks/twilio/messages/nope', {});
    expect(unknown.status).toBe(404);
    for (const route of ['messages/inbound', 'messages/status', 'calls/status', 'recordings', 'conversations']) expect(unknown.body).toContain(`/webhooks/twilio/${route}`);
    expect(unknown.body).toMatch(/^unknown webhook route; the routes are \/webhooks\/twilio\/messages\/inbound, \/webhooks\/twilio\/messages\/status, /);
    const get = await send(h, STATUS, { method: 'GET' });
    expect(get).toMatchObject({ status: 405, body: 'POST only' });
    expect(get.headers.allow).toBe('POST');
  });

  it('a voice route is 404 while no voice handler is configured', async () => {
    const h = await mainHarness();
    const res = await send(h, '/webhooks/twilio/voice/inbound', { params: { CallSid: sid('CA'), From: '+14155550908', To: NUMBER } });
    expect(res.status).toBe(404);
    expect(res.body).toMatch(/^unknown webhook route/);
  });

  it('names the missing configuration in the refusal', async () => {
    const noUrl = await harness({ publicBaseUrl: () => undefined });
    expect(await send(noUrl, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).toMatchObject({
      status: 403,
      body: 'signature cannot be verified: TWILIO_WEBHOOK_URL is not configured',
    });
    const noToken = await harness({ authTokens: async () => [] });
    expect(await send(noToken, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).toMatchObject({
      status: 403,
      body: 'signature cannot be verified: no auth token configured',
    });
  });

  it('JSON bodies: the refusal says whether it is not JSON, not an object, or missing a field', async () => {
    const h = await mainHarness();
    const post = (body: string) => send(h, `${CALLS}?bodySHA256=${twilio.getExpectedBodyHash(body)}`, { body, headers: { 'content-type': 'application/json' } });
    expect(await post('{oops')).toMatchObject({ status: 400, body: 'bad webhook: body is not valid JSON' });
    for (const body of ['[1,2]', 'null', '"text"', '42']) expect(await post(body), body).toMatchObject({ status: 400, body: 'bad webhook: JSON body must be an object' });
    expect(await post('')).toMatchObject({ status: 400, body: 'bad webhook: missing CallSid' });
  });

  it('a store failure is 500 (Twilio retries) and logged with the route', async () => {
    const error = vi.spyOn(log, 'error').mockImplementation(() => {});
    const h = await harness({}, (real) => new Proxy(real, { get: (t, k) => (k === 'ingestBatch' ? async () => Promise.reject(new Error('disk on fire')) : Reflect.get(t, k)) }));
    expect(await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).toMatchObject({ status: 500, body: 'internal error; Twilio will retry' });
    expect(error).toHaveBeenCalledWith(expect.stringContaining(`webhook ${STATUS}: disk on fire`));
  });

  it('handle() says it answered every webhook path (so no later route answers again), and not other paths', async () => {
    const receiver = createWebhookReceiver({
      publicBaseUrl: () => PUBLIC,
      authTokens: async () => [TOKEN],
      verifySignatures: true,
      store: async () => (await mainHarness()).store,
      events: new EventHub(),
      signatureFailureLimit: { maxFailures: 1, windowMs: 60_000 },
      voice: () => async () => '<Response><Hangup/></Response>',
    });
    const handled: boolean[] = [];
    const server = createServer((req, res) => {
      void receiver.handle(req, res).then((answered) => {
        handled.push(answered);
        if (!answered) res.writeHead(418).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const h = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    expect((await send(h, '/webhooks/twilio/unknown')).status).toBe(404);
    expect((await send(h, STATUS, { method: 'GET' })).status).toBe(405);
    expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).status).toBe(204);
    expect((await send(h, INBOUND, { params: inbound('hi') })).status).toBe(200);
    expect(await send(h, '/webhooks/twilio/voice/inbound', { params: { CallSid: sid('CA') } })).toMatchObject({ status: 200, body: '<Response><Hangup/></Response>' });
    expect((await send(h, STATUS, { params: { MessageStatus: 'sent' } })).status).toBe(400);
    expect((await send(h, STATUS, { params: {}, headers: { 'x-twilio-signature': 'AAAA' } })).status).toBe(403);
    expect((await send(h, STATUS, { params: {}, headers: { 'x-twilio-signature': 'AAAA' } })).status).toBe(429);
    expect((await send(h, '/elsewhere')).status).toBe(418);
    expect(handled).toEqual([true, true, true, true, true, true, true, true, false]);
  });
});

describe('size limits', () => {
  /** Form parameters whose encoding is exactly `bytes` long. */
  const paramsOfSize = (bytes: number) => {
    const params = { MessageSid: sid('SM'), MessageStatus: 'sent', Padding: '' };
    params.Padding = 'a'.repeat(bytes - new URLSearchParams(params).toString().length);
    expect(new URLSearchParams(params).toString().length).toBe(bytes);
    return params;
  };

  it('a body of exactly 64 KiB is accepted, declared or streamed in chunks', async () => {
    const h = await mainHarness();
    const declared = paramsOfSize(MAX_WEBHOOK_BODY_BYTES);
    expect((await send(h, STATUS, { params: declared })).status).toBe(204);
    expect((await h.store.getMessageStatus(declared.MessageSid))?.current).toBe('sent');

    const streamed = paramsOfSize(MAX_WEBHOOK_BODY_BYTES);
    const body = new URLSearchParams(streamed).toString();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.url}${STATUS}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked', 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, `${PUBLIC}${STATUS}`, streamed) },
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.on('error', reject);
      req.write(body.slice(0, 30_000));
      req.end(body.slice(30_000));
    });
    expect(status).toBe(204);
  });

  it('a declared length over the limit is refused at once with 413, before the body arrives', async () => {
    const h = await harness({ answerTimeoutMs: 4000 });
    const started = Date.now();
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request(`${h.url}${STATUS}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': MAX_WEBHOOK_BODY_BYTES + 1 } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          req.destroy();
        });
      });
      req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
      req.write('MessageSid=SM1'); // and then nothing more
    });
    expect(answer).toMatchObject({ status: 413, body: `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes` });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('signatures and configuration', () => {
  it('a request with a repeated form key is verified over every value (as Twilio signs it)', async () => {
    const h = await mainHarness();
    const messageSid = sid('SM');
    const body = `MessageSid=${messageSid}&MessageStatus=sent&Tag=a&Tag=b&Tag=c`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${STATUS}`, { MessageSid: messageSid, MessageStatus: 'sent', Tag: ['a', 'b', 'c'] } as never);
    const res = await send(h, STATUS, { body, headers: { 'x-twilio-signature': signature } });
    expect(res.status).toBe(204);
    expect(h.ingested.find((i) => i.event.sid === messageSid)?.event.params).toMatchObject({ Tag: 'a,b,c' });
  });

  it('a public URL configured with trailing slashes is used without them', async () => {
    const h = await harness({ publicBaseUrl: () => `${PUBLIC}//` });
    expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).status).toBe(204);
    const single = await harness({ publicBaseUrl: () => `${PUBLIC}/` });
    expect((await send(single, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).status).toBe(204);
    const receiver = createWebhookReceiver({ publicBaseUrl: () => `${PUBLIC}//`, authTokens: async () => [TOKEN], verifySignatures: true, store: async () => h.store, events: new EventHub() });
    expect(receiver.urlFor('/messages/inbound')).toBe(`${PUBLIC}${INBOUND}`);
  });

  it('only a signature that does not match counts towards the limit: malformed signed requests do not block Twilio', async () => {
    const h = await harness({ signatureFailureLimit: { maxFailures: 1, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await send(h, STATUS, { params: { MessageStatus: 'sent' } })).status).toBe(400);
    const big = `Padding=${'a'.repeat(MAX_WEBHOOK_BODY_BYTES)}`;
    expect((await send(h, STATUS, { body: big })).status).toBe(413);
    expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).status).toBe(204);
    // One mismatch spends the limit; the next request from the address gets 429 with the reason.
    expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' }, unsigned: true })).status).toBe(403);
    const blocked = await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } });
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.body).error).toMatch(/^too many webhook requests with a bad signature from this address/);
  });
});

describe('deadlines', () => {
  it('says which step was too slow: the body, the signature check, the store, the voice answer', async () => {
    const stalled = await harness({ answerTimeoutMs: 250 });
    const body = await new Promise<Answer>((resolve, reject) => {
      const req = request(`${stalled.url}${STATUS}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': 100 } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }), req.destroy()));
      });
      req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
      req.write('MessageSid=SM');
    });
    expect(body).toMatchObject({ status: 408, body: 'request body not received in time' });

    const tokens = await harness({ answerTimeoutMs: 250, authTokens: () => new Promise<string[]>(() => {}) });
    expect(await send(tokens, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).toMatchObject({ status: 503, body: 'signature check timed out' });

    const slowStore = await harness({ answerTimeoutMs: 250, store: () => new Promise<Store>(() => {}) });
    expect(await send(slowStore, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).toMatchObject({ status: 503, body: 'storage is slow; Twilio will retry' });

    const slowVoice = await harness({ answerTimeoutMs: 250, voice: () => () => new Promise<string>(() => {}) });
    expect(await send(slowVoice, '/webhooks/twilio/voice/inbound', { params: { CallSid: sid('CA') } })).toMatchObject({ status: 503, body: 'the voice answer took too long' });
  });
});

describe('what the operator reads in the log', () => {
  it('a missing public URL is logged once a minute, naming the variable to set, not once per request', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const h = await harness({ publicBaseUrl: () => undefined });
    for (let i = 0; i < 3; i++) await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toBe('Webhook refused: TWILIO_WEBHOOK_URL is not set, so signatures cannot be checked. Set it to the public base URL Twilio calls.');
  });

  it('a missing token is logged naming TWILIO_AUTH_TOKEN', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const h = await harness({ authTokens: async () => [] });
    await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } });
    expect(warn.mock.calls.map((c) => c[0])).toEqual(['Webhook refused: no auth token is configured to check signatures with. Set TWILIO_AUTH_TOKEN.']);
  });

  it('a refused signature is logged with the URL it was checked against and what to compare', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const forged = await harness();
    await send(forged, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' }, headers: { 'x-twilio-signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' } });
    const unsigned = await harness();
    await send(unsigned, `${STATUS}?x=1`, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' }, unsigned: true });
    const lines = warn.mock.calls.map((c) => c[0]);
    expect(lines).toHaveLength(2);
    const advice = "If these are Twilio's own requests, the URL configured in Twilio differs from TWILIO_WEBHOOK_URL + this path, or TWILIO_AUTH_TOKEN is not this account's.";
    expect(lines[0]).toBe(`Webhook refused (403): its X-Twilio-Signature does not match ${PUBLIC}${STATUS}. ${advice}`);
    expect(lines[1]).toBe(`Webhook refused (403): no X-Twilio-Signature for ${PUBLIC}${STATUS}?x=1. ${advice}`);
  });

  it('unchecked signatures (local development) are warned about once, and the requests accepted', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => {});
    const h = await harness({ verifySignatures: false, publicBaseUrl: () => undefined });
    for (let i = 0; i < 3; i++) expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' }, unsigned: true })).status).toBe(204);
    expect(warn.mock.calls.map((c) => c[0])).toEqual(['Accepting webhooks WITHOUT checking their signatures (verifySignatures: false). Local development only.']);
  });

  it('a listener that throws is logged, and the webhook still answered', async () => {
    const error = vi.spyOn(log, 'error').mockImplementation(() => {});
    const h = await harness({
      events: Object.assign(new EventHub(), {
        publish: () => {
          throw new Error('listener bug');
        },
      }),
    });
    expect((await send(h, STATUS, { params: { MessageSid: sid('SM'), MessageStatus: 'sent' } })).status).toBe(204);
    expect(error.mock.calls.map((c) => c[0])).toEqual(['webhook listener failed: listener bug']);
  });
});
