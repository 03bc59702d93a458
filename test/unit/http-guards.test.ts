import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkBearer, clientKey, FailureLimiter, RateLimiter } from '../../src/transports/http-guards.js';

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

describe('failure limiter', () => {
  it('blocks a client after maxFailures within the window, until the window closes; others are untouched', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.blockedForMs('a')).toBe(0);
      limiter.recordFailure('a');
    }
    now = 15_000;
    expect(limiter.blockedForMs('a')).toBe(45_000);
    expect(limiter.blockedForMs('b')).toBe(0);
    now = 60_000;
    expect(limiter.blockedForMs('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.blockedForMs('a')).toBe(0);
  });

  it('answers 429 with Retry-After and counts nothing for clients that never fail', () => {
    const limiter = new FailureLimiter({ maxFailures: 1, windowMs: 30_000 }, () => 0);
    for (let i = 0; i < 50; i++) expect(limiter.admit(request(), fakeResponse().res, 'failures')).toBe(true);
    limiter.recordFailureOf(request());
    const refused = fakeResponse();
    expect(limiter.admit(request(), refused.res, 'failed bearer-token attempts')).toBe(false);
    expect(refused.captured).toMatchObject({ status: 429, headers: { 'retry-after': '30' } });
    expect(refused.captured.body).toMatch(/too many failed bearer-token attempts/);
  });
});

describe('client key', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, other IPv6 by /64', () => {
    expect(clientKey('10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
