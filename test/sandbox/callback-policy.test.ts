/**
 * Where webhooks may go: only http(s), and loopback only when the embedder's
 * `callbackPolicy.isOwnReceiver` says it is its own receiver. Refusals are counted at the
 * receivers and in the sandbox's messages, not only read off the error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackRefusal, isLoopbackHost, type CallbackPolicy } from '../../src/sandbox/callback-policy.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { client, eventually } from './http.js';

interface Receiver {
  server: Server;
  url: string;
  hits: string[];
}

/** Answers 200, or a redirect for paths under /redirect. */
async function startReceiver(redirectTo?: () => string): Promise<Receiver> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(req.url ?? '');
      if (redirectTo && req.url?.startsWith('/redirect')) res.writeHead(307, { location: redirectTo() }).end();
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

let other: Receiver;
let own: Receiver;
let guarded: SandboxHandle;
let open: SandboxHandle;

beforeAll(async () => {
  other = await startReceiver();
  own = await startReceiver(() => `${other.url}/followed`);
  const policy: CallbackPolicy = { isOwnReceiver: (url) => url.origin === own.url && url.pathname.startsWith('/') };
  const timing = { sendingMs: 5, sentMs: 10, deliveredMs: 20 };
  guarded = await startSandbox({ timing, callbackPolicy: policy });
  open = await startSandbox({ timing });
});
afterAll(async () => {
  await guarded?.close();
  await open?.close();
  for (const r of [other, own]) await new Promise((resolve) => r?.server.close(resolve));
});

describe('which hosts are loopback', () => {
  const loopback = ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST.', 'app.localhost', '[::1]', '::1', '0.0.0.0', '[::]', '[::ffff:7f00:1]', '::ffff:127.0.0.1'];
  const elsewhere = ['128.0.0.1', '10.0.0.1', 'example.com', 'localhost.example.com', '[::2]', '[2001:db8::1]'];
  for (const host of loopback) it(`${host} is loopback`, () => expect(isLoopbackHost(host)).toBe(true));
  for (const host of elsewhere) it(`${host} is not`, () => expect(isLoopbackHost(host)).toBe(false));

  it('spellings the URL parser normalises to 127.0.0.1 are refused too', () => {
    const policy: CallbackPolicy = { isOwnReceiver: () => false };
    for (const url of ['http://2130706433/x', 'http://0x7f.1/x', 'http://127.1/x', 'http://[::ffff:127.0.0.1]/x']) {
      expect(callbackRefusal(url, policy)).toMatch(/loopback/);
    }
    expect(callbackRefusal('https://example.com/x', policy)).toBeUndefined();
  });

  it('a name that resolves to loopback is refused when its addresses are known (send time)', () => {
    const policy: CallbackPolicy = { isOwnReceiver: () => false };
    expect(callbackRefusal('https://rebind.example/x', policy, ['93.184.216.34', '127.0.0.1'])).toMatch(/loopback/);
    expect(callbackRefusal('https://rebind.example/x', policy, ['93.184.216.34'])).toBeUndefined();
  });

  it('only http and https, with or without a policy', () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://127.0.0.1/', 'javascript:alert(1)']) {
      expect(callbackRefusal(url, undefined)).toBeDefined();
    }
    expect(callbackRefusal('http://127.0.0.1:1/x', undefined)).toBeUndefined();
  });
});

describe('with a callback policy', () => {
  it('a StatusCallback on loopback that is not the own receiver is 21609, and nothing is created or posted', async () => {
    const api = client(guarded);
    const to = '+14155550801';
    for (const url of [`${other.url}/status`, `http://localhost:${new URL(other.url).port}/status`, `http://[::1]:${new URL(other.url).port}/status`]) {
      const { status, json } = await api.send({ To: to, From: guarded.testSenderNumber, Body: 'x', StatusCallback: url });
      expect(status).toBe(400);
      expect(json).toMatchObject({ code: 21609, message: expect.stringMatching(/Invalid StatusCallback url .*loopback/) });
    }
    expect((await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}`)).json.messages).toEqual([]);
    expect(other.hits.filter((h) => h === '/status')).toEqual([]);
  });

  it('a non-http(s) StatusCallback is 21609 and creates nothing', async () => {
    const api = client(guarded);
    const to = '+14155550802';
    for (const url of ['ftp://example.com/status', 'file:///etc/passwd']) {
      expect((await api.send({ To: to, From: guarded.testSenderNumber, Body: 'x', StatusCallback: url })).json.code).toBe(21609);
    }
    expect((await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}`)).json.messages).toEqual([]);
  });

  it('the own receiver gets its status callbacks', async () => {
    const api = client(guarded);
    const created = await api.send({ To: '+14155550803', From: guarded.testSenderNumber, Body: 'x', StatusCallback: `${own.url}/status/own` });
    expect(created.status).toBe(201);
    await eventually(() => (own.hits.filter((h) => h === '/status/own').length === 2 ? true : undefined));
  });

  it("a number's SmsUrl on loopback elsewhere is refused at update (21502), and at inbound delivery", async () => {
    const api = client(guarded);
    const numbers = await api.call('GET', `${api.root}/IncomingPhoneNumbers.json`);
    const number = numbers.json.incoming_phone_numbers[0];
    const refused = await api.call('POST', number.uri, { SmsUrl: `${other.url}/inbound` });
    expect(refused.json).toMatchObject({ code: 21502, message: expect.stringContaining('loopback') });
    expect((await api.call('GET', number.uri)).json.sms_url).toBeNull();
    // The embedder's own configureNumber is not an HTTP request, but delivery checks again.
    guarded.configureNumber({ smsUrl: `${other.url}/inbound` });
    const result = await guarded.simulateInbound({ from: '+14155550804', body: 'hello' });
    expect(result.webhookRefused).toMatch(/loopback/);
    expect(result.webhookStatus).toBeUndefined();
    expect(other.hits.filter((h) => h === '/inbound')).toEqual([]);
    guarded.configureNumber({ smsUrl: `${own.url}/inbound` });
    expect((await guarded.simulateInbound({ from: '+14155550804', body: 'hello' })).webhookStatus).toBe(200);
    expect(own.hits).toContain('/inbound');
  });

  it('a redirect from the own receiver is not followed (it could lead anywhere)', async () => {
    guarded.configureNumber({ smsUrl: `${own.url}/redirect` });
    const result = await guarded.simulateInbound({ from: '+14155550805', body: 'hello' });
    expect(result.webhookStatus).toBe(307);
    expect(own.hits.filter((h) => h === '/redirect')).toHaveLength(1); // no retries either
    expect(other.hits.filter((h) => h === '/followed')).toEqual([]);
  });
});

describe('without a policy (the standalone sandbox)', () => {
  it('loopback receivers stay allowed', async () => {
    const api = client(open);
    const created = await api.send({ To: '+14155550806', From: open.testSenderNumber, Body: 'x', StatusCallback: `${other.url}/open` });
    expect(created.status).toBe(201);
    await eventually(() => (other.hits.includes('/open') ? true : undefined));
  });

  it('non-http(s) callbacks are still refused', async () => {
    expect((await client(open).send({ To: '+14155550807', From: open.testSenderNumber, Body: 'x', StatusCallback: 'file:///etc/passwd' })).json.code).toBe(21609);
  });
});
