import { describe, expect, it } from 'vitest';
import { decideAfterError, decideAfterResponse, isCreate, MAX_ATTEMPTS, parseRetryAfter } from '../../src/gateway/retry-policy.js';

const CREATE = { method: 'POST', url: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json', attempt: 1 };
const UPDATE = { method: 'POST', url: `https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM${'0'.repeat(32)}.json`, attempt: 1 };
const READ = { method: 'GET', url: CREATE.url, attempt: 1 };

describe('retry policy', () => {
  it('tells creates from updates', () => {
    expect(isCreate('POST', CREATE.url)).toBe(true);
    expect(isCreate('POST', UPDATE.url)).toBe(false);
    expect(isCreate('GET', CREATE.url)).toBe(false);
  });

  it('retries a 429 create, honouring Retry-After', () => {
    expect(decideAfterResponse(CREATE, 429, '2')).toEqual({ action: 'retry', delayMs: 2000 });
  });

  it('gives up when Retry-After is too long to wait', () => {
    expect(decideAfterResponse(CREATE, 429, '3600')).toEqual({ action: 'give-up' });
  });

  it('never retries a create on 5xx (it may have been processed)', () => {
    expect(decideAfterResponse(CREATE, 500, undefined)).toEqual({ action: 'give-up' });
    expect(decideAfterResponse(READ, 503, undefined).action).toBe('retry');
  });

  it('never retries 4xx other than 429', () => {
    expect(decideAfterResponse(READ, 400, undefined)).toEqual({ action: 'give-up' });
    expect(decideAfterResponse(READ, 404, undefined)).toEqual({ action: 'give-up' });
  });

  it('stops after the last attempt', () => {
    expect(decideAfterResponse({ ...READ, attempt: MAX_ATTEMPTS }, 429, '1')).toEqual({ action: 'give-up' });
  });

  it('reports an unknown outcome when a create loses its connection or times out', () => {
    expect(decideAfterError(CREATE, 'ECONNRESET')).toEqual({ action: 'outcome-unknown' });
    expect(decideAfterError(CREATE, 'ECONNABORTED')).toEqual({ action: 'outcome-unknown' });
    expect(decideAfterError(CREATE, undefined)).toEqual({ action: 'outcome-unknown' });
  });

  it('retries a create whose connection was refused (it never arrived)', () => {
    expect(decideAfterError(CREATE, 'ECONNREFUSED').action).toBe('retry');
  });

  it('retries reads and updates after resets and timeouts', () => {
    expect(decideAfterError(READ, 'ECONNRESET').action).toBe('retry');
    expect(decideAfterError(UPDATE, 'ETIMEDOUT').action).toBe('retry');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
