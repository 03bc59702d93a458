/**
 * The receiver's voice routes: signed like every webhook (a forged request is refused
 * before the handler runs), answered with the handler's TwiML, and parsed into routes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub } from '../../src/services/events.js';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { startWebhookListener } from '../../src/transports/webhook-listener.js';
import { createWebhookReceiver } from '../../src/webhooks/receiver.js';
import { parseVoiceRoute, type VoiceRoute } from '../../src/webhooks/voice-routes.js';

const TOKEN = '12345678901234567890123456789012';
const PUBLIC = 'https://hooks.example.com/base';
let store: Store;
let local: { url: string; close(): Promise<void> };
const seen: Array<{ route: VoiceRoute; params: Record<string, string> }> = [];

beforeAll(async () => {
  store = openStoreInDir(mkdtempSync(join(tmpdir(), 'mcp-twilio-voice-routes-')));
  const receiver = createWebhookReceiver({
    publicBaseUrl: () => PUBLIC,
    authTokens: async () => [TOKEN],
    verifySignatures: true,
    store: async () => store,
    events: new EventHub(),
    voice: () => async (route, params) => {
      seen.push({ route, params });
      return `<?xml version="1.0" encoding="UTF-8"?><Response><Say>${route.kind}</Say></Response>`;
    },
  });
  local = await startWebhookListener(receiver.handle, '127.0.0.1', 0);
});
afterAll(async () => {
  await local?.close();
  await store?.close();
});

async function post(pathAndQuery: string, params: Record<string, string>, signature?: string) {
  const sig = signature ?? twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${pathAndQuery}`, params);
  const response = await fetch(`${local.url}${pathAndQuery}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('voice routes on the receiver', () => {
  it('a signed step request is answered with the handler\'s TwiML, the attempt taken from the signed query', async () => {
    const params = { CallSid: `CA${'1'.repeat(32)}`, From: '+14155550100', To: '+15005550006', Digits: '2' };
    const answer = await post('/webhooks/twilio/voice/ivr/front-desk/menu/answer?attempt=2', params);
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/xml/);
    expect(answer.body).toContain('<Say>answer</Say>');
    expect(seen.at(-1)).toEqual({ route: { kind: 'answer', flow: 'front-desk', step: 'menu', attempt: 2 }, params });
  });

  it('a forged request is refused with 403 and never reaches the handler', async () => {
    const before = seen.length;
    const forged = await post('/webhooks/twilio/voice/inbound', { CallSid: `CA${'2'.repeat(32)}`, From: '+14155550100' }, 'bm90IGEgc2lnbmF0dXJl');
    expect(forged.status).toBe(403);
    expect(forged.body).not.toContain('<Response>');
    expect(seen.length).toBe(before);
  });

  it('an unknown voice path is 404, not served', async () => {
    const result = await post('/webhooks/twilio/voice/ivr/../etc', { CallSid: 'x' });
    expect(result.status).toBe(404);
  });
});

describe('parseVoiceRoute', () => {
  it('reads every route and bounds the attempt', () => {
    expect(parseVoiceRoute('/voice/inbound', '')).toEqual({ kind: 'inbound' });
    expect(parseVoiceRoute('/voice/ivr/f/s', '')).toEqual({ kind: 'step', flow: 'f', step: 's', attempt: 1 });
    expect(parseVoiceRoute('/voice/ivr/f/s', 'attempt=3')).toEqual({ kind: 'step', flow: 'f', step: 's', attempt: 3 });
    expect(parseVoiceRoute('/voice/ivr/f/s/answer', 'attempt=99999')).toEqual({ kind: 'answer', flow: 'f', step: 's', attempt: 10 });
    expect(parseVoiceRoute('/voice/ivr/f/s/voicemail', '')).toEqual({ kind: 'voicemail', flow: 'f', step: 's' });
    expect(parseVoiceRoute('/voice/ivr/f/s/other', '')).toBeUndefined();
    expect(parseVoiceRoute('/voice/ivr/f', '')).toBeUndefined();
  });
});
