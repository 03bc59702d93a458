/**
 * When may a request to Twilio be sent again? Pure functions, unit-tested.
 *
 * The rule that matters: a create (POST to a collection) that may have reached Twilio is
 * never retried, because a second attempt can send the SMS twice. Only failures that
 * prove the request was not processed are retried for creates: a 429 (Twilio refused it)
 * and a refused connection (it never arrived). Reads and updates of one resource are
 * idempotent and are also retried on 5xx, resets and timeouts.
 *
 * The SDK's own autoRetry ignores Retry-After; this policy honours it.
 */
export const MAX_ATTEMPTS = 4;
/** Longer Retry-After values are not waited out: the caller gets the 429 and decides. */
export const MAX_RETRY_AFTER_MS = 20_000;
const BASE_DELAY_MS = 250;
const MAX_BACKOFF_MS = 4_000;

/** Errors that prove the request never reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Errors after which the request may or may not have been processed. */
const MAYBE_SENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const SID_SEGMENT = /\/[A-Z]{2}[0-9a-fA-F]{32}(\.json)?$/;

/** A POST to a collection (`…/Messages.json`) creates something; a POST to `…/SMxxx.json` updates it. */
export function isCreate(method: string, url: string): boolean {
  if (method.toUpperCase() !== 'POST') return false;
  const path = url.split('?')[0] ?? url;
  return !SID_SEGMENT.test(path);
}

export type Decision =
  | { action: 'retry'; delayMs: number }
  | { action: 'give-up' }
  | { action: 'outcome-unknown' };

export interface Attempt {
  method: string;
  url: string;
  /** 1-based number of the attempt that just finished. */
  attempt: number;
}

export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  // Equal jitter: never zero, so a burst of clients does not retry in lockstep.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function decideAfterResponse(a: Attempt, status: number, retryAfter: unknown): Decision {
  if (a.attempt >= MAX_ATTEMPTS) return { action: 'give-up' };
  const create = isCreate(a.method, a.url);
  const retryable = status === 429 || (!create && [500, 502, 503, 504].includes(status));
  if (!retryable) return { action: 'give-up' };
  const asked = parseRetryAfter(retryAfter);
  if (asked !== undefined && asked > MAX_RETRY_AFTER_MS) return { action: 'give-up' };
  return { action: 'retry', delayMs: asked ?? backoffMs(a.attempt) };
}

export function decideAfterError(a: Attempt, errorCode: string | undefined): Decision {
  const create = isCreate(a.method, a.url);
  const notSent = errorCode !== undefined && NOT_SENT_CODES.has(errorCode);
  // After the bytes left (reset, timeout, anything unknown) a create may have happened.
  if (create && !notSent) return { action: 'outcome-unknown' };
  if (a.attempt >= MAX_ATTEMPTS) return { action: 'give-up' };
  if (notSent || (errorCode !== undefined && MAYBE_SENT_CODES.has(errorCode))) {
    return { action: 'retry', delayMs: backoffMs(a.attempt) };
  }
  return { action: 'give-up' };
}
