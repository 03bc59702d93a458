/**
 * The webhook sender on its own: signatures the official SDK accepts (URLs with query
 * strings and unusual characters too), Twilio's headers, retries with one idempotency
 * token, and giving up quietly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioSignature, WebhookSender } from '../../src/sandbox/callbacks.js';

interface Hit {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  params: Record<string, string>;
}

const TOKEN = '12345678901234567890123456789012';
let receiver: Server;
let base: string;
const hits: Hit[] = [];
/** Paths that answer 500 this many more times before 200. */
const failuresLeft = new Map<string, number>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', headers: req.headers, params: Object.fromEntries(new URLSearchParams(body)) });
      const path = (req.url ?? '').split('?')[0]!;
      const left = failuresLeft.get(path) ?? 0;
      if (left > 0) failuresLeft.set(path, left - 1);
      res.writeHead(left > 0 ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('signatures', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['https://example.com/status', { MessageSid: `SM${'a'.repeat(32)}`, MessageStatus: 'sent' }],
    ['https://example.com/status?tenant=42&x=a%20b', { B: '2', A: '1', Body: 'héllo & <ünïcode> 😀' }],
    ['https://example.com:8443/cb', { From: '+15005550006', To: 'whatsapp:+14155550100' }],
    ['https://example.com/empty', {}],
  ];
  for (const [url, params] of cases) {
    it(`validateRequest accepts the signature for ${url}`, () => {
      const signature = twilioSignature(TOKEN, url, params);
      expect(twilio.validateRequest(TOKEN, signature, url, params)).toBe(true);
      expect(twilio.validateRequest(TOKEN.replace('1', '9'), signature, url, params)).toBe(false);
      expect(twilio.validateRequest(TOKEN, signature, url, { ...params, Extra: 'x' })).toBe(false);
    });
  }
});

describe('delivery', () => {
  it("posts form-encoded with Twilio's headers, signed over the exact URL", async () => {
    const url = `${base}/ok?from=test`;
    const result = await new WebhookSender(TOKEN, () => {}).post(url, { MessageStatus: 'sent', To: '+14155550100' });
    expect(result).toMatchObject({ status: 200, attempts: 1 });
    const hit = hits.find((h) => h.url === '/ok?from=test')!;
    expect(hit.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(hit.headers['user-agent']).toBe('TwilioProxy/1.1');
    expect(hit.headers['i-twilio-idempotency-token']).toMatch(/\S{16,}/);
    expect(twilio.validateRequest(TOKEN, String(hit.headers['x-twilio-signature']), url, hit.params)).toBe(true);
  });

  it('retries a 500 with the same idempotency token, then succeeds', async () => {
    failuresLeft.set('/flaky', 2);
    const result = await new WebhookSender(TOKEN, () => {}).post(`${base}/flaky`, { MessageStatus: 'delivered' });
    expect(result).toMatchObject({ status: 200, attempts: 3 });
    const tokens = hits.filter((h) => h.url === '/flaky').map((h) => h.headers['i-twilio-idempotency-token']);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
  });

  it('gives different callbacks different idempotency tokens', async () => {
    const sender = new WebhookSender(TOKEN, () => {});
    await sender.post(`${base}/twice`, { MessageStatus: 'sent' });
    await sender.post(`${base}/twice`, { MessageStatus: 'delivered' });
    const tokens = hits.filter((h) => h.url === '/twice').map((h) => h.headers['i-twilio-idempotency-token']);
    expect(new Set(tokens).size).toBe(2);
  });

  it('gives up on a refused connection after its retries, without throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const lines: string[] = [];
    const result = await new WebhookSender(TOKEN, (l) => lines.push(l)).post(`http://127.0.0.1:${port}/gone`, { MessageStatus: 'sent' });
    expect(result.status).toBeUndefined();
    expect(result.attempts).toBe(3);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('with a callback policy, refuses a name that resolves to loopback before connecting', async () => {
    const lines: string[] = [];
    const policy = { isOwnReceiver: () => false };
    const resolved: string[] = [];
    const sender = new WebhookSender(TOKEN, (l) => lines.push(l), policy, async (host) => {
      resolved.push(host);
      return ['127.0.0.1'];
    });
    const result = await sender.post('https://rebind.test/status', { MessageStatus: 'sent' });
    expect(result).toMatchObject({ status: undefined, attempts: 0, refused: expect.stringMatching(/loopback/) });
    expect(resolved).toEqual(['rebind.test']);
    expect(lines.join('\n')).toMatch(/not sent/);
    // Loopback the policy accepts (the embedder's receiver) is posted to.
    const own = new WebhookSender(TOKEN, () => {}, { isOwnReceiver: (url) => url.pathname === '/own' });
    expect(await own.post(`${base}/own`, { MessageStatus: 'sent' })).toMatchObject({ status: 200, attempts: 1 });
    expect(await own.post(`${base}/not-own`, { MessageStatus: 'sent' })).toMatchObject({ attempts: 0 });
    expect(hits.filter((h) => h.url === '/not-own')).toEqual([]);
  });

  it('stops retrying once closed', async () => {
    failuresLeft.set('/closing', 5);
    const sender = new WebhookSender(TOKEN, () => {});
    const pending = sender.post(`${base}/closing`, { MessageStatus: 'sent' });
    // Close once the first attempt has failed (it reached the receiver), not after a guessed delay.
    await expect.poll(() => hits.filter((h) => h.url === '/closing').length, { timeout: 5000, interval: 5 }).toBeGreaterThanOrEqual(1);
    sender.close();
    const started = Date.now();
    const result = await pending;
    expect(Date.now() - started).toBeLessThan(500);
    expect(result.attempts).toBeLessThanOrEqual(2);
  });
});
