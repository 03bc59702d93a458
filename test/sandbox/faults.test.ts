/**
 * Fault injection, in process and over HTTP: what each kind does to the request and to the
 * emulated state (a 'reset-after' or 'hang' request WAS processed: the message exists).
 */
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { basicAuth, client, formBody } from './http.js';

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 10, sentMs: 20, deliveredMs: 30 } });
  api = client(sandbox);
});
afterEach(() => sandbox.clearFaults());
afterAll(async () => {
  await sandbox?.close();
});

const countTo = async (to: string) => (await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}`)).json.messages.length as number;

/** A raw request that reports how the connection ended rather than throwing. */
function rawPost(path: string, body: string, timeoutMs = 2000): Promise<{ outcome: 'answered' | 'reset' | 'timeout'; status?: number }> {
  const url = new URL(path, sandbox.baseUrl);
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'POST',
      headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/x-www-form-urlencoded' },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ outcome: 'timeout' });
    }, timeoutMs);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ outcome: 'answered', status: res.statusCode });
      });
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve({ outcome: 'reset' });
    });
    req.end(body);
  });
}

describe('fault kinds', () => {
  it("429 answers Twilio's 20429 body with Retry-After, without creating anything", async () => {
    const to = '+14155550301';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'status', status: 429, retryAfterSeconds: 7 });
    const limited = await api.send({ To: to, From: '+15005550006', Body: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.json).toEqual({ code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 });
    expect(await countTo(to)).toBe(0);
    // Used up after one request (times defaults to 1).
    expect((await api.send({ To: to, From: '+15005550006', Body: 'x' })).status).toBe(201);
    expect(await countTo(to)).toBe(1);
  });

  it('500 and 503 answer 20500 / 20503; times and method narrow what is affected', async () => {
    sandbox.injectFault({ method: 'GET', path: 'Messages.json', kind: 'status', status: 503, times: 2 });
    expect((await api.call('GET', api.messagesPath)).json).toMatchObject({ code: 20503, status: 503 });
    // A POST does not match a GET-only fault and does not use it up.
    expect((await api.send({ To: '+14155550302', From: '+15005550006', Body: 'x' })).status).toBe(201);
    expect((await api.call('GET', api.messagesPath)).status).toBe(503);
    expect((await api.call('GET', api.messagesPath)).status).toBe(200);
    sandbox.injectFault({ path: /\.json$/, kind: 'status', status: 500 });
    const failed = await api.call('GET', api.messagesPath);
    expect(failed.json).toMatchObject({ code: 20500, status: 500 });
    expect(failed.headers.get('retry-after')).toBeNull();
  });

  it('reset-before drops the socket and creates nothing', async () => {
    const to = '+14155550303';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'reset-before' });
    expect((await rawPost(api.messagesPath, formBody({ To: to, From: '+15005550006', Body: 'x' }))).outcome).toBe('reset');
    expect(await countTo(to)).toBe(0);
  });

  it('reset-after creates the message, then drops the socket', async () => {
    const to = '+14155550304';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'reset-after' });
    expect((await rawPost(api.messagesPath, formBody({ To: to, From: '+15005550006', Body: 'x' }))).outcome).toBe('reset');
    expect(await countTo(to)).toBe(1);
  });

  it('hang creates the message and never answers; close() still returns', async () => {
    const own = await startSandbox();
    const to = '+14155550305';
    own.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'hang' });
    const ownApi = client(own);
    const pending = fetch(`${own.baseUrl}${ownApi.messagesPath}`, {
      method: 'POST',
      headers: { authorization: basicAuth(own.accountSid, own.authToken), 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ To: to, From: '+15005550006', Body: 'x' }),
    }).then(
      () => 'answered',
      () => 'dropped',
    );
    const outcome = await Promise.race([pending, new Promise((r) => setTimeout(() => r('still waiting'), 300))]);
    expect(outcome).toBe('still waiting');
    expect((await ownApi.call('GET', `${ownApi.messagesPath}?To=${encodeURIComponent(to)}`)).json.messages).toHaveLength(1);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await pending).toBe('dropped');
  });

  it('clearFaults disarms everything', async () => {
    sandbox.injectFault({ path: 'Messages', kind: 'status', status: 500, times: 5 });
    sandbox.clearFaults();
    expect((await api.call('GET', api.messagesPath)).status).toBe(200);
  });
});

describe('the HTTP admin surface', () => {
  const admin = (method: string, body?: unknown, authorization = basicAuth(sandbox.accountSid, sandbox.authToken)) =>
    fetch(`${sandbox.baseUrl}/__sandbox/faults`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('POST arms a fault from JSON (path a RegExp source) and DELETE clears', async () => {
    expect((await admin('POST', { method: 'POST', path: 'Messages\\.json$', kind: 'status', status: 429, retryAfterSeconds: 2, times: 2 })).status).toBe(204);
    const first = await api.send({ To: '+14155550306', From: '+15005550006', Body: 'x' });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    expect((await admin('DELETE')).status).toBe(204);
    expect((await api.send({ To: '+14155550306', From: '+15005550006', Body: 'x' })).status).toBe(201);
  });

  it('needs the same Basic auth, and is never faulted itself', async () => {
    expect((await admin('DELETE', undefined, basicAuth(sandbox.accountSid, 'wrong'))).status).toBe(401);
    sandbox.injectFault({ path: /.*/, kind: 'status', status: 500, times: 10 });
    expect((await admin('DELETE')).status).toBe(204);
    expect((await api.call('GET', api.messagesPath)).status).toBe(200);
  });

  it("refuses a malformed fault with Twilio's error body", async () => {
    for (const body of [{ path: 'x', kind: 'explode' }, { kind: 'hang' }, { path: '(', kind: 'hang' }, { path: 'x', kind: 'status', times: -1 }]) {
      const response = await admin('POST', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 20001, status: 400 });
    }
    const notJson = await fetch(`${sandbox.baseUrl}/__sandbox/faults`, {
      method: 'POST',
      headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect((await api.call('GET', api.messagesPath)).status).toBe(200);
  });
});
