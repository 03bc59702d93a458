import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkBearer, RateLimiter } from '../../src/transports/http-guards.js';

function fakeResponse() {
  const captured: { status?: number; headers?: Record<string, string>; body?: string } = {};
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      captured.status = status;
      captured.headers = headers;
      return res;
    },
    end(body: string) {
      captured.body = body;
      return res;
    },
  };
  return { res: res as unknown as ServerResponse, captured };
}
const request = (authorization?: string) =>
  ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress: '10.0.0.1' } }) as unknown as IncomingMessage;

describe('bearer token', () => {
  it('accepts the right token and rejects others with WWW-Authenticate', () => {
    expect(checkBearer(request('Bearer s3cret-token'), fakeResponse().res, 's3cret-token')).toBe(true);
    const wrong = fakeResponse();
    expect(checkBearer(request('Bearer nope'), wrong.res, 's3cret-token')).toBe(false);
    expect(wrong.captured.status).toBe(401);
    expect(wrong.captured.headers?.['www-authenticate']).toMatch(/^Bearer realm=/);
    const missing = fakeResponse();
    expect(checkBearer(request(), missing.res, 's3cret-token')).toBe(false);
    expect(missing.captured.body).not.toContain('s3cret-token');
  });
});

describe('rate limiter', () => {
  it('allows a burst, then answers with the wait, then refills', () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 60, burst: 3 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1000);
    expect(limiter.take('b')).toBe(0);
    now += 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('answers 429 with Retry-After in seconds', () => {
    const limiter = new RateLimiter({ perMinute: 6, burst: 1 }, () => 0);
    expect(limiter.check(request(), fakeResponse().res)).toBe(true);
    const limited = fakeResponse();
    expect(limiter.check(request(), limited.res)).toBe(false);
    expect(limited.captured).toMatchObject({ status: 429, headers: { 'retry-after': '10' } });
  });
});
