/**
 * Status callbacks and inbound webhooks carry signatures the official SDK accepts, in
 * lifecycle order; the documented failure rule yields the right error codes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { sandboxTwilioClient } from './sdk-client.js';

interface Received {
  path: string;
  params: Record<string, string>;
  signature: string;
  idempotencyToken: string;
}

let sandbox: SandboxHandle;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        params: Object.fromEntries(new URLSearchParams(body)),
        signature: String(req.headers['x-twilio-signature'] ?? ''),
        idempotencyToken: String(req.headers['i-twilio-idempotency-token'] ?? ''),
      });
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sandbox?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

async function sendWithCallback(to: string, path: string) {
  const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
  const response = await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: to, From: '+15005550006', Body: 'cb', StatusCallback: `${receiverUrl}${path}` }).toString(),
  });
  return (await response.json()) as { sid: string };
}

async function callbacksFor(path: string, count: number): Promise<Received[]> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const got = received.filter((r) => r.path === path);
    if (got.length >= count) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  return received.filter((r) => r.path === path);
}

describe('signed webhooks', () => {
  it('posts every transition in order, each signed so validateRequest accepts it', async () => {
    const { sid } = await sendWithCallback('+14155550160', '/status/ok');
    const callbacks = await callbacksFor('/status/ok', 2);
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered']);
    for (const c of callbacks) {
      expect(c.params).toMatchObject({ MessageSid: sid, SmsSid: sid, AccountSid: sandbox.accountSid, From: '+15005550006', To: '+14155550160', ApiVersion: '2010-04-01' });
      expect(twilio.validateRequest(sandbox.authToken, c.signature, `${receiverUrl}/status/ok`, c.params)).toBe(true);
      expect(twilio.validateRequest('0'.repeat(32), c.signature, `${receiverUrl}/status/ok`, c.params)).toBe(false);
    }
    expect(new Set(callbacks.map((c) => c.idempotencyToken)).size).toBe(callbacks.length);
    expect(callbacks.at(-1)!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
  });

  it('ends undelivered with ErrorCode 30003 for a …3003 recipient, failed with 30008 for …3008', async () => {
    await sendWithCallback('+14155553003', '/status/3003');
    const undelivered = await callbacksFor('/status/3003', 2);
    expect(undelivered.at(-1)!.params).toMatchObject({ MessageStatus: 'undelivered', ErrorCode: '30003' });
    await sendWithCallback('+14155553008', '/status/3008');
    const failed = await callbacksFor('/status/3008', 1);
    expect(failed.at(-1)!.params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '30008' });
  });

  it('via the Messaging Service: queued (leaving accepted) → sent → delivered (no sending callback), each with MessagingServiceSid', async () => {
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    const url = `${receiverUrl}/status/service?tenant=7`;
    await fetch(`${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: '+14155550161', MessagingServiceSid: sandbox.messagingServiceSid, Body: 'pool', StatusCallback: url }).toString(),
    });
    const callbacks = await callbacksFor('/status/service?tenant=7', 3);
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['queued', 'sent', 'delivered']);
    for (const c of callbacks) {
      expect(c.params).toMatchObject({ MessagingServiceSid: sandbox.messagingServiceSid, From: '+15005550006' });
      expect(twilio.validateRequest(sandbox.authToken, c.signature, url, c.params)).toBe(true);
    }
  });

  it('a canceled scheduled message posts canceled', async () => {
    const client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
    const url = `${receiverUrl}/status/canceled`;
    const scheduled = await client.messages.create({
      to: '+14155550162', messagingServiceSid: sandbox.messagingServiceSid, body: 'later', statusCallback: url,
      sendAt: new Date(Date.now() + 3_600_000), scheduleType: 'fixed',
    });
    await client.messages(scheduled.sid).update({ status: 'canceled' });
    const [canceled] = await callbacksFor('/status/canceled', 1);
    expect(canceled!.params).toMatchObject({ MessageSid: scheduled.sid, MessageStatus: 'canceled' });
    expect(twilio.validateRequest(sandbox.authToken, canceled!.signature, url, canceled!.params)).toBe(true);
  });

  it('delivers a simulated inbound SMS to the number, signed', async () => {
    sandbox.configureNumber({ smsUrl: `${receiverUrl}/inbound` });
    const result = await sandbox.simulateInbound({ from: '+14155550170', body: 'STOP', mediaUrls: ['https://example.com/x.jpg'] });
    expect(result.webhookStatus).toBe(200);
    const [inbound] = await callbacksFor('/inbound', 1);
    expect(inbound!.params).toMatchObject({ From: '+14155550170', To: '+15005550006', Body: 'STOP', NumMedia: '1', SmsStatus: 'received', MessagingServiceSid: sandbox.messagingServiceSid });
    expect(inbound!.params.MediaUrl0).toBe('https://example.com/x.jpg');
    expect(twilio.validateRequest(sandbox.authToken, inbound!.signature, `${receiverUrl}/inbound`, inbound!.params)).toBe(true);
  });
});
