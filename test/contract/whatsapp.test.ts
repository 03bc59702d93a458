/**
 * WhatsApp as Twilio runs it: the 24-hour customer-service window (free text to a user
 * who has not written within 24 hours is accepted, then fails with 63016; a template
 * passes; an inbound message opens the window), media without a body, and status
 * callbacks with WhatsApp's channel fields instead of a carrier's RawDlrDoneDate.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { eventually } from '../sandbox/http.js';
import { createValidator, loadSpec } from './openapi.js';
import { sandboxTwilioClient } from './sdk-client.js';

const validator = createValidator(loadSpec('twilio_api_v2010.json'));
const MESSAGE = '/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json';

interface Received {
  path: string;
  params: Record<string, string>;
  signature: string;
}

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 20, deliveredMs: 40 } });
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', params: Object.fromEntries(new URLSearchParams(body)), signature: String(req.headers['x-twilio-signature'] ?? '') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sandbox?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

/** Callbacks to `path` once the final one (delivered, undelivered or failed) has arrived. */
async function finalCallbacks(path: string): Promise<Received[]> {
  return eventually(() => {
    const got = received.filter((r) => r.path === path);
    return got.some((r) => ['delivered', 'undelivered', 'failed'].includes(r.params.MessageStatus!)) ? got : undefined;
  });
}

const send = (to: string, path: string, fields: { body?: string; mediaUrl?: string[]; contentSid?: string }) =>
  client.messages.create({ to, from: sandbox.whatsappSenderNumber, statusCallback: `${receiverUrl}${path}`, ...fields });

describe('the 24-hour customer-service window', () => {
  it('free text to a user who never wrote is accepted (201), then fails with 63016, and its callback says so', async () => {
    const to = 'whatsapp:+14155550701';
    const created = await send(to, '/wa/closed', { body: 'hello out of the blue' });
    expect(created.status).toBe('queued');
    const callbacks = await finalCallbacks('/wa/closed');
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['failed']);
    expect(callbacks[0]!.params).toMatchObject({ MessageSid: created.sid, ErrorCode: '63016', ChannelPrefix: 'whatsapp' });
    const fetched = await client.messages(created.sid).fetch();
    expect(fetched).toMatchObject({ status: 'failed', errorCode: 63016, price: null, dateSent: null });
    expect(fetched.errorMessage).toMatch(/outside the allowed window/);
  });

  it('a template (ContentSid) to the same user passes', async () => {
    const created = await send('whatsapp:+14155550701', '/wa/template', { contentSid: `HX${'d'.repeat(32)}` });
    const callbacks = await finalCallbacks('/wa/template');
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered']);
    expect((await client.messages(created.sid).fetch()).errorCode).toBeNull();
  });

  it('an inbound message opens the window for free text back to that user, from that sender only', async () => {
    const user = 'whatsapp:+14155550702';
    await sandbox.simulateInbound({ from: user, body: 'hi, question about my order' });
    const created = await send(user, '/wa/open', { body: 'happy to help' });
    const callbacks = await finalCallbacks('/wa/open');
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered']);
    expect((await client.messages(created.sid).fetch()).status).toBe('delivered');
    // An SMS from the same person opens nothing on WhatsApp.
    await sandbox.simulateInbound({ from: '+14155550703', body: 'sms' });
    await send('whatsapp:+14155550703', '/wa/sms-only', { body: 'x' });
    expect((await finalCallbacks('/wa/sms-only')).at(-1)!.params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63016' });
  });
});

describe('media without a body', () => {
  it('is a valid WhatsApp message, delivered inside the window and validated by the spec', async () => {
    const user = 'whatsapp:+14155550704';
    await sandbox.simulateInbound({ from: user, body: 'send me the menu' });
    const created = await send(user, '/wa/media', { mediaUrl: ['https://example.com/menu.pdf'] });
    expect(created.sid).toMatch(/^MM[0-9a-f]{32}$/);
    expect(created).toMatchObject({ body: '', numMedia: '1' });
    await finalCallbacks('/wa/media');
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    const raw = await (await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages/${created.sid}.json`, { headers: { authorization: auth } })).json();
    expect(raw).toMatchObject({ status: 'delivered', body: '', num_media: '1' });
    expect(validator.response(MESSAGE, 'get', '200', raw)).toEqual([]);
  });

  it('is free-form too: outside the window it fails with 63016', async () => {
    await send('whatsapp:+14155550705', '/wa/media-closed', { mediaUrl: ['https://example.com/a.jpg'] });
    expect((await finalCallbacks('/wa/media-closed')).at(-1)!.params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63016' });
  });
});

describe('WhatsApp status callbacks', () => {
  it('carry ChannelPrefix and ChannelInstallSid, no RawDlrDoneDate and no sending callback; signed', async () => {
    const user = 'whatsapp:+14155550706';
    await sandbox.simulateInbound({ from: user, body: 'hello' });
    await send(user, '/wa/fields', { body: 'receipt' });
    const callbacks = await finalCallbacks('/wa/fields');
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered']);
    for (const c of callbacks) {
      expect(c.params.ChannelPrefix).toBe('whatsapp');
      expect(c.params.ChannelInstallSid).toMatch(/^XE[0-9a-f]{32}$/);
      expect(c.params).not.toHaveProperty('RawDlrDoneDate');
      expect(c.params).toMatchObject({ From: sandbox.whatsappSenderNumber, To: user });
      expect(twilio.validateRequest(sandbox.authToken, c.signature, `${receiverUrl}/wa/fields`, c.params)).toBe(true);
    }
  });

  it('SMS callbacks keep RawDlrDoneDate on the final status and have no channel fields', async () => {
    await client.messages.create({ to: '+14155550707', from: sandbox.testSenderNumber, body: 'sms', statusCallback: `${receiverUrl}/sms/fields` });
    const callbacks = await finalCallbacks('/sms/fields');
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered']);
    expect(callbacks.at(-1)!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
    expect(callbacks.at(-1)!.params).not.toHaveProperty('ChannelPrefix');
    expect(callbacks[0]!.params).not.toHaveProperty('RawDlrDoneDate');
  });
});
