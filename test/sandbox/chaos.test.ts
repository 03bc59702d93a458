/**
 * Probabilistic faults (chaos.ts): observed rates over 2,000 seeded POSTs, reset-after
 * creating the message the client never hears of, the account rps limit, latency,
 * determinism per seed, the admin routes, and what the official SDK makes of a 429.
 */
import { request } from 'node:http';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChaosSpecError, startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { mulberry32 } from '../../src/sandbox/chaos.js';
import { basicAuth, client, formBody } from './http.js';

type Outcome =
  | { outcome: 'answered'; status: number; retryAfter: string | undefined; json: any }
  | { outcome: 'reset' };
type Answered = Extract<Outcome, { outcome: 'answered' }>;

/** The status answered, or 'reset': a reset never passes as a status. */
const statusOf = (o: Outcome) => (o.outcome === 'answered' ? o.status : 'reset');

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;
const logLines: string[] = [];

beforeAll(async () => {
  // Long lifecycle: 2,000 messages should not keep the timers busy during the test.
  sandbox = await startSandbox({ timing: { sendingMs: 60_000, sentMs: 60_001, deliveredMs: 60_002 }, log: (line) => logLines.push(line) });
  api = client(sandbox);
});
afterEach(() => {
  sandbox.setChaos(null);
  sandbox.clearFaults();
  logLines.length = 0;
});
afterAll(async () => {
  await sandbox?.close();
});

/** One request on its own connection (a reset must not poison a pooled socket), reporting how it ended. */
function raw(method: string, path: string, form?: Record<string, string>, target: SandboxHandle = sandbox): Promise<Outcome> {
  const url = new URL(path, target.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      agent: false,
      headers: { authorization: basicAuth(target.accountSid, target.authToken), ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      timeout: 10_000,
    });
    req.on('timeout', () => reject(new Error(`${method} ${path} timed out`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ outcome: 'answered', status: res.statusCode!, retryAfter: res.headers['retry-after'], json: text ? JSON.parse(text) : undefined });
      });
      res.on('error', () => resolve({ outcome: 'reset' }));
    });
    req.on('error', () => resolve({ outcome: 'reset' }));
    req.end(form ? formBody(form) : undefined);
  });
}

const recipient = (i: number) => `+1415${String(2_000_000 + i).padStart(7, '0')}`;
const sendTo = (to: string, target: SandboxHandle = sandbox) =>
  raw('POST', `/2010-04-01/Accounts/${target.accountSid}/Messages.json`, { To: to, From: '+15005550006', Body: 'campaign' }, target);

/** Runs `count` jobs, at most `width` at once, results in job order. */
async function pool<T>(count: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

const label = (o: Outcome) => (o.outcome === 'reset' ? 'reset' : String(o.status));

describe('rates', () => {
  it('over 2,000 seeded POSTs, each outcome shows at its configured rate; created = 201s + reset-afters, exactly one per recipient', async () => {
    const rates = { rate429: 0.1, rate5xx: 0.05, rateResetBefore: 0.03, rateResetAfter: 0.02 };
    const settings = sandbox.setChaos({ ...rates, seed: 42 });
    expect(settings).toMatchObject({ ...rates, seed: 42, retryAfterSeconds: 1, methods: ['POST'] });
    const n = 2000;
    const outcomes = await pool(n, 16, (i) => sendTo(recipient(i)));
    const tally = new Map<string, number>();
    for (const o of outcomes) tally.set(label(o), (tally.get(label(o)) ?? 0) + 1);
    const observed = (key: string) => (tally.get(key) ?? 0) / n;
    // 4 standard deviations of a binomial proportion: a correct engine never misses, a wrong rate does.
    const within = (p: number, expected: number) => expect(Math.abs(p - expected)).toBeLessThanOrEqual(4 * Math.sqrt((expected * (1 - expected)) / n));
    within(observed('429'), rates.rate429);
    within(observed('500') + observed('503'), rates.rate5xx);
    // The 5xx split is even: each of 500 and 503 is about half of them.
    within(observed('500'), rates.rate5xx / 2);
    within(observed('503'), rates.rate5xx / 2);
    within(observed('reset'), rates.rateResetBefore + rates.rateResetAfter);
    within(observed('201'), 1 - 0.2);
    expect([...tally.keys()].sort()).toEqual(['201', '429', '500', '503', 'reset']);

    // Resets of both kinds look the same to the client; the sandbox's counts tell them apart.
    const counts = sandbox.messageCounts();
    let resetAfter = 0;
    outcomes.forEach((o, i) => {
      const created = sandbox.messagesTo(recipient(i));
      if (o.outcome === 'answered') expect(created, `${recipient(i)} answered ${o.status}`).toBe(o.status === 201 ? 1 : 0);
      else resetAfter += created;
      expect(counts.get(recipient(i)) ?? 0).toBe(created);
    });
    within(resetAfter / n, rates.rateResetAfter);
    expect(resetAfter).toBeGreaterThan(0);
    expect((tally.get('reset') ?? 0) - resetAfter).toBeGreaterThan(0);

    // Twilio-shaped bodies.
    const byStatus = (status: number) => outcomes.find((o): o is Answered => o.outcome === 'answered' && o.status === status)!;
    expect(byStatus(429).json).toEqual({ code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 });
    expect(byStatus(429).retryAfter).toBe('1');
    expect(byStatus(500).json).toEqual({ code: 20500, message: 'Internal Server Error', more_info: 'https://www.twilio.com/docs/errors/20500', status: 500 });
    expect(byStatus(503).json).toEqual({ code: 20503, message: 'Service Unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503 });
    expect(byStatus(500).retryAfter).toBeUndefined();
  });

  it('reset-after creates the message while the client sees a reset; reset-before creates nothing', async () => {
    sandbox.setChaos({ rateResetAfter: 1 });
    expect((await sendTo('+14155559001')).outcome).toBe('reset');
    expect(sandbox.messagesTo('+14155559001')).toBe(1);
    sandbox.setChaos({ rateResetBefore: 1 });
    expect((await sendTo('+14155559002')).outcome).toBe('reset');
    expect(sandbox.messagesTo('+14155559002')).toBe(0);
  });

  it('Retry-After follows retryAfterSeconds; only POST Messages/Calls are affected by default; paths and methods widen it', async () => {
    sandbox.setChaos({ rate429: 1, retryAfterSeconds: 7 });
    const limited = await sendTo('+14155559003');
    expect(limited).toMatchObject({ outcome: 'answered', status: 429, retryAfter: '7', json: { code: 20429 } });
    const calls = await raw('POST', `${api.root}/Calls.json`, { To: '+14155559004', From: '+15005550006', Url: 'http://127.0.0.1:9/twiml' });
    expect(calls).toMatchObject({ status: 429, json: { code: 20429 } });
    expect(await raw('GET', api.messagesPath)).toMatchObject({ status: 200 });
    expect(await raw('GET', `${api.root}.json`)).toMatchObject({ status: 200 });
    sandbox.setChaos({ rate429: 1, paths: [/\/Messages\.json$/], methods: ['*'] });
    expect(await raw('GET', api.messagesPath)).toMatchObject({ status: 429 });
    expect(statusOf(await raw('POST', `${api.root}/Calls.json`, { To: '+14155559004', From: '+15005550006', Url: 'http://127.0.0.1:9/twiml' }))).toBe(201);
  });

  it('a one-shot fault takes precedence over chaos, and admin routes are never touched', async () => {
    sandbox.setChaos({ rate429: 1, paths: ['.*'], methods: ['*'], accountRps: 1, accountBurst: 1 });
    sandbox.injectFault({ path: /Messages\.json$/, kind: 'status', status: 502 });
    expect(await sendTo('+14155559005')).toMatchObject({ status: 502 });
    for (let i = 0; i < 3; i++) expect(await raw('GET', '/__sandbox/counts?to=%2B14155559005')).toMatchObject({ status: 200 });
  });
});

describe('the official SDK and a 429', () => {
  class SandboxRequestClient extends twilio.RequestClient {
    constructor(private readonly baseUrl: string, opts?: ConstructorParameters<typeof twilio.RequestClient>[0]) {
      super(opts);
    }
    override request<T>(opts: RequestClient.RequestOptions<T>) {
      const url = new URL(opts.uri);
      return super.request<T>({ ...opts, uri: `${this.baseUrl}${url.pathname}${url.search}` });
    }
  }

  it('without autoRetry the SDK rejects with RestException 429 / 20429 and does not retry', async () => {
    sandbox.setChaos({ rate429: 1 });
    const sdk = twilio(sandbox.accountSid, sandbox.authToken, { httpClient: new SandboxRequestClient(sandbox.baseUrl) });
    const error = await sdk.messages.create({ to: '+14155559006', from: '+15005550006', body: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: 20429, message: 'Too Many Requests' });
    expect(logLines.filter((l) => l.startsWith('chaos (rate) status 429'))).toHaveLength(1);
  });

  it('with autoRetry the SDK retries a 429 on its own backoff (it does not read Retry-After)', async () => {
    // Retry-After 30 would hold a client that honoured it for 30 s; the SDK's backoff is capped by maxRetryDelay.
    sandbox.setChaos({ rate429: 1, retryAfterSeconds: 30 });
    const sdk = twilio(sandbox.accountSid, sandbox.authToken, { httpClient: new SandboxRequestClient(sandbox.baseUrl, { autoRetry: true, maxRetries: 2, maxRetryDelay: 50 }) });
    const started = Date.now();
    const error = await sdk.messages.create({ to: '+14155559007', from: '+15005550006', body: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: 20429 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(logLines.filter((l) => l.startsWith('chaos (rate) status 429'))).toHaveLength(3);
  });
});

describe('account rps limit', () => {
  it('a burst of 50 at 10 rps: about 10 accepted in the first second, the rest 429 20429 with Retry-After; a token comes back after 1/rps', async () => {
    sandbox.setChaos({ accountRps: 10 });
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => sendTo(recipient(5000 + i))));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const accepted = outcomes.filter((o) => o.outcome === 'answered' && o.status === 201).length;
    const limited = outcomes.filter((o) => o.outcome === 'answered' && o.status === 429);
    expect(accepted).toBeGreaterThanOrEqual(10);
    // The bucket holds 10 and refills 10 a second: at most what refilled while the burst ran.
    expect(accepted).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds * 10));
    expect(accepted + limited.length).toBe(50);
    for (const o of limited) {
      expect(o).toMatchObject({ retryAfter: '1', json: { code: 20429, message: 'Too Many Requests', status: 429 } });
    }
    const created = outcomes.reduce((sum, _, i) => sum + sandbox.messagesTo(recipient(5000 + i)), 0);
    expect(created).toBe(accepted);
    // Every non-admin request counts by default, a GET too.
    expect(statusOf(await raw('GET', api.messagesPath))).toBe(429);
    // A token comes back: a send is accepted again, soon (the bucket refills one per 100 ms).
    const emptyAt = performance.now();
    let accepted201 = false;
    for (let i = 0; i < 100 && !accepted201; i++) {
      accepted201 = statusOf(await sendTo(recipient(5100))) === 201;
      if (!accepted201) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(accepted201).toBe(true);
    expect(performance.now() - emptyAt).toBeLessThan(2000);
  });

  it("scope 'matching' limits only the chaos paths; Retry-After reflects a slow rate", async () => {
    sandbox.setChaos({ accountRps: 0.25, accountRpsScope: 'matching' });
    expect(statusOf(await sendTo(recipient(5200)))).toBe(201);
    const limited = await sendTo(recipient(5201));
    expect(limited).toMatchObject({ status: 429, retryAfter: '4' });
    for (let i = 0; i < 5; i++) expect(statusOf(await raw('GET', api.messagesPath))).toBe(200);
  });
});

describe('latency', () => {
  it('adds a fixed delay to matching requests', async () => {
    sandbox.setChaos({ latencyMs: 60 });
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      expect(statusOf(await sendTo(recipient(6000 + i)))).toBe(201);
      expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    }
  });

  it('draws a uniform delay in [min, max]', async () => {
    const settings = sandbox.setChaos({ latencyMs: { min: 20, max: 120 }, seed: 7 })!;
    // The same draws the sandbox will make: the third of each triple is the latency.
    const random = mulberry32(settings.seed);
    const expected: number[] = [];
    for (let i = 0; i < 8; i++) {
      random();
      random();
      expected.push(20 + Math.round(random() * 100));
    }
    expect(new Set(expected).size).toBeGreaterThan(4);
    for (let i = 0; i < 8; i++) {
      const started = performance.now();
      expect(statusOf(await sendTo(recipient(6100 + i)))).toBe(201);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(expected[i]! - 1);
      expect(took).toBeLessThan(expected[i]! + 1000);
    }
  });
});

describe('determinism', () => {
  const run = async (seed: number | undefined, base: number) => {
    const settings = sandbox.setChaos({ rate429: 0.2, rate5xx: 0.2, rateResetBefore: 0.1, rateResetAfter: 0.1, ...(seed !== undefined && { seed }) })!;
    const outcomes: string[] = [];
    for (let i = 0; i < 150; i++) outcomes.push(label(await sendTo(recipient(base + i))));
    return { seed: settings.seed, outcomes };
  };

  it('the same seed gives the same sequence of outcomes; another seed another; a random seed is reported and replays', async () => {
    const first = await run(1234, 7000);
    const again = await run(1234, 7200);
    const other = await run(99, 7400);
    expect(again.outcomes).toEqual(first.outcomes);
    expect(other.outcomes).not.toEqual(first.outcomes);
    const unseeded = await run(undefined, 7600);
    expect((await run(unseeded.seed, 7800)).outcomes).toEqual(unseeded.outcomes);
  });
});

describe('options checked whole', () => {
  it('startSandbox and setChaos refuse bad specs with a ChaosSpecError naming the option', async () => {
    await expect(startSandbox({ chaos: { rate429: 1.5 } })).rejects.toThrow(/rate429 must be a number between 0 and 1/);
    await expect(startSandbox({ chaos: { rate429: 0.6, rate5xx: 0.6 } })).rejects.toThrow(/must not exceed 1/);
    expect(() => sandbox.setChaos({ latencyMs: { min: 50, max: 10 } })).toThrow(ChaosSpecError);
    expect(() => sandbox.setChaos({ accountRps: 0 })).toThrow(/accountRps must be a positive number/);
    expect(() => sandbox.setChaos({ paths: ['('] })).toThrow(/not a valid regular expression/);
    expect(() => sandbox.setChaos({ seed: -1 })).toThrow(/seed must be an integer/);
    expect(() => sandbox.setChaos({ rate: 0.1 } as never)).toThrow(/unknown option/);
    expect(sandbox.getChaos()).toBeNull();
  });

  it('startSandbox({chaos}) arms chaos from the start', async () => {
    const own = await startSandbox({ chaos: { rateResetBefore: 1, seed: 5 } });
    try {
      expect(own.getChaos()).toMatchObject({ rateResetBefore: 1, seed: 5 });
      expect((await sendTo('+14155559010', own)).outcome).toBe('reset');
      expect(own.messagesTo('+14155559010')).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('the HTTP admin surface', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${sandbox.baseUrl}${path}`, {
      method,
      headers: { authorization: basicAuth(sandbox.accountSid, sandbox.authToken), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('POST /__sandbox/chaos sets (answers the settings), GET reads, DELETE turns off', async () => {
    const set = await admin('POST', '/__sandbox/chaos', { rate429: 1, paths: ['/Messages\\.json$'], retryAfterSeconds: 3, seed: 11 });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ rate429: 1, paths: ['\\/Messages\\.json$'], retryAfterSeconds: 3, seed: 11, accountRps: null });
    expect(await sendTo('+14155559020')).toMatchObject({ status: 429, retryAfter: '3' });
    expect(await (await admin('GET', '/__sandbox/chaos')).json()).toMatchObject({ chaos: { rate429: 1, seed: 11 } });
    expect((await admin('DELETE', '/__sandbox/chaos')).status).toBe(204);
    expect(await (await admin('GET', '/__sandbox/chaos')).json()).toEqual({ chaos: null });
    expect(await sendTo('+14155559020')).toMatchObject({ status: 201 });
  });

  it("refuses a bad spec with Twilio's 400 20001 and leaves the settings as they were", async () => {
    sandbox.setChaos({ rate5xx: 0.5, seed: 3 });
    for (const body of [{ rate429: 2 }, { paths: 'x' }, { latencyMs: -1 }, { accountRpsScope: 'some' }, [1]]) {
      const response = await admin('POST', '/__sandbox/chaos', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 20001, status: 400, message: expect.stringMatching(/^Invalid chaos: /) });
    }
    expect(sandbox.getChaos()).toMatchObject({ rate5xx: 0.5, seed: 3 });
  });

  it('GET /__sandbox/counts?to=… counts created outbound messages for a recipient; without to, all of them', async () => {
    await sendTo('+14155559030');
    await sendTo('+14155559030');
    expect(await (await admin('GET', '/__sandbox/counts?to=%2B14155559030')).json()).toEqual({ to: '+14155559030', messages: 2 });
    // A raw '+' is kept as Twilio's clients send it, not read as a space.
    expect(await (await admin('GET', '/__sandbox/counts?to=+14155559030')).json()).toEqual({ to: '+14155559030', messages: 2 });
    expect(await (await admin('GET', '/__sandbox/counts?to=%2B14155559031')).json()).toEqual({ to: '+14155559031', messages: 0 });
    const all = (await (await admin('GET', '/__sandbox/counts')).json()) as { messages: Record<string, number> };
    expect(all.messages['+14155559030']).toBe(2);
    expect(Object.keys(all.messages).length).toBe(sandbox.messageCounts().size);
  });
});
