/**
 * The webhook receiver, with the official SDK's signature functions as the oracle:
 * forged, missing, wrong-URL, replayed and duplicate requests; the JSON-body variant; a
 * request through a proxy on another host and port; a Messaging Service inbound message.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub, type TwilioEvent } from '../../src/services/events.js';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { startWebhookListener } from '../../src/transports/webhook-listener.js';
import { computeSignature, urlVariants, verifySignature } from '../../src/webhooks/signature.js';
import { createWebhookReceiver } from '../../src/webhooks/receiver.js';

const TOKEN = '12345678901234567890123456789012';
const PUBLIC = 'https://hooks.example.com:8443/base';
const SID = (n: number) => `SM${String(n).padStart(32, '0')}`;

let store: Store;
let local: { url: string; close(): Promise<void> };
const events: TwilioEvent[] = [];

beforeAll(async () => {
  store = openStoreInDir(mkdtempSync(join(tmpdir(), 'mcp-twilio-webhooks-')));
  const hub = new EventHub();
  hub.subscribe((e) => void events.push(e));
  const receiver = createWebhookReceiver({ publicBaseUrl: () => PUBLIC, authTokens: async () => [TOKEN], verifySignatures: true, store: async () => store, events: hub });
  local = await startWebhookListener(receiver.handle, '127.0.0.1', 0);
});
afterAll(async () => {
  await local?.close();
  await store?.close();
});

async function post(path: string, params: Record<string, string>, options: { signature?: string | null; signedUrl?: string; token?: string; idempotency?: string } = {}) {
  const signedUrl = options.signedUrl ?? `${PUBLIC}${path}`;
  const signature = options.signature === undefined ? twilio.getExpectedTwilioSignature(TOKEN, signedUrl, params) : options.signature;
  const response = await fetch(`${local.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature !== null && { 'x-twilio-signature': signature }),
      ...(options.idempotency && { 'i-twilio-idempotency-token': options.idempotency }),
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

const inbound = (n: number, body: string, extra: Record<string, string> = {}) => ({
  MessageSid: SID(n), SmsSid: SID(n), AccountSid: `AC${'1'.repeat(32)}`, From: '+14155550500', To: '+15005550006', Body: body, NumMedia: '0', SmsStatus: 'received', ApiVersion: '2010-04-01', ...extra,
});

describe('signature checks', () => {
  it('accepts a request signed for the public URL (behind a proxy on another host and port) and answers empty TwiML', async () => {
    const res = await post('/webhooks/twilio/messages/inbound', inbound(1, 'hello'));
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/xml/);
    expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect((await store.listInbound({ from: '+14155550500', limit: 10 })).map((m) => m.body)).toContain('hello');
  });

  it('refuses a request signed for the local URL it physically reached', async () => {
    const path = '/webhooks/twilio/messages/inbound';
    const res = await post(path, inbound(2, 'local'), { signedUrl: `${local.url}${path}` });
    expect(res.status).toBe(403);
    expect((await store.listInbound({ limit: 100 })).map((m) => m.body)).not.toContain('local');
  });

  it('refuses forged and missing signatures and stores nothing', async () => {
    expect((await post('/webhooks/twilio/messages/inbound', inbound(3, 'forged'), { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' })).status).toBe(403);
    expect((await post('/webhooks/twilio/messages/inbound', inbound(4, 'unsigned'), { signature: null })).status).toBe(403);
    const tampered = inbound(5, 'original');
    const signature = twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}/webhooks/twilio/messages/inbound`, tampered);
    expect((await post('/webhooks/twilio/messages/inbound', { ...tampered, Body: 'tampered' }, { signature })).status).toBe(403);
    const bodies = (await store.listInbound({ limit: 100 })).map((m) => m.body);
    for (const b of ['forged', 'unsigned', 'tampered']) expect(bodies).not.toContain(b);
  });

  it('refuses a signature made with another token', async () => {
    const params = inbound(6, 'other token');
    const signature = twilio.getExpectedTwilioSignature('9'.repeat(32), `${PUBLIC}/webhooks/twilio/messages/inbound`, params);
    expect((await post('/webhooks/twilio/messages/inbound', params, { signature })).status).toBe(403);
  });

  it('keeps every parameter of a Messaging Service inbound message in the signature', async () => {
    const params = inbound(7, 'via service', { MessagingServiceSid: `MG${'2'.repeat(32)}`, FromCountry: 'US', ToCity: '' });
    expect((await post('/webhooks/twilio/messages/inbound', params)).status).toBe(200);
    expect((await store.listInbound({ limit: 100 })).find((m) => m.body === 'via service')?.messagingServiceSid).toBe(`MG${'2'.repeat(32)}`);
  });

  it('agrees with the SDK on port variants and the JSON-body (bodySHA256) variant', () => {
    const params = { b: '2', a: '1' };
    expect(computeSignature(TOKEN, 'https://x.example/p', params)).toBe(twilio.getExpectedTwilioSignature(TOKEN, 'https://x.example/p', params));
    expect(urlVariants('https://x.example/p')).toContain('https://x.example:443/p');
    const body = JSON.stringify({ CallSid: 'CA1' });
    const url = `https://x.example/hook?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    expect(twilio.validateRequestWithBody(TOKEN, signature, url, body)).toBe(true);
    expect(verifySignature({ url, signature, params: {}, rawBody: body }, [TOKEN])).toBe(true);
    expect(verifySignature({ url, signature, params: {}, rawBody: `${body} ` }, [TOKEN])).toBe(false);
    const signedWithPort = twilio.getExpectedTwilioSignature(TOKEN, 'https://x.example:443/p', params);
    expect(verifySignature({ url: 'https://x.example/p', signature: signedWithPort, params, rawBody: '' }, [TOKEN])).toBe(true);
  });

  it('accepts a JSON body through the receiver', async () => {
    const path = '/webhooks/twilio/calls/status';
    const body = JSON.stringify({ CallSid: `CA${'3'.repeat(32)}`, CallStatus: 'ringing' });
    const query = `?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${path}${query}`, {});
    const res = await fetch(`${local.url}${path}${query}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-twilio-signature': signature }, body });
    expect(res.status).toBe(204);
    expect((await store.getCallStatus(`CA${'3'.repeat(32)}`))?.current).toBe('ringing');
  });
});

describe('dedup and ordering', () => {
  it('stores a replayed delivery (same idempotency token) once, still answering 200', async () => {
    const params = { MessageSid: SID(20), SmsSid: SID(20), MessageStatus: 'sent', SmsStatus: 'sent', AccountSid: `AC${'1'.repeat(32)}`, From: '+15005550006', To: '+14155550501', ApiVersion: '2010-04-01' };
    const before = events.length;
    expect((await post('/webhooks/twilio/messages/status', params, { idempotency: 'tok-1' })).status).toBe(204);
    expect((await post('/webhooks/twilio/messages/status', params, { idempotency: 'tok-1' })).status).toBe(204);
    expect((await post('/webhooks/twilio/messages/status', params, { idempotency: 'tok-2' })).status).toBe(204);
    expect((await store.getMessageStatus(SID(20)))?.history).toHaveLength(1);
    expect(events.length - before).toBe(1);
  });

  it('keeps a late "sent" after "delivered" in the history only', async () => {
    const base = { MessageSid: SID(21), AccountSid: `AC${'1'.repeat(32)}`, From: '+15005550006', To: '+14155550502' };
    await post('/webhooks/twilio/messages/status', { ...base, MessageStatus: 'delivered' });
    await post('/webhooks/twilio/messages/status', { ...base, MessageStatus: 'sent' });
    const record = (await store.getMessageStatus(SID(21)))!;
    expect(record.current).toBe('delivered');
    expect(record.history.map((h) => [h.status, h.applied])).toEqual([['delivered', true], ['sent', false]]);
  });

  it('answers 400 for a signed request missing its SID, 404 for unknown routes', async () => {
    expect((await post('/webhooks/twilio/messages/status', { MessageStatus: 'sent' })).status).toBe(400);
    expect((await post('/webhooks/twilio/nope', {})).status).toBe(404);
  });
});
