/**
 * Guards in front of /mcp (and the webhook receiver) when serving HTTP: a static bearer
 * token (required whenever the server listens beyond loopback) compared in constant time,
 * a per-client token-bucket rate limit answered with 429 + Retry-After, and a per-client
 * limit on FAILED credentials (bearer token, webhook signature) checked before the
 * credential is, so guessing stops.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function checkBearer(req: IncomingMessage, res: ServerResponse, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (match && sameSecret(match[1]!.trim(), token)) return true;
  res
    .writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer realm="mcp-server-twilio", error="${match ? 'invalid_token' : 'invalid_request'}"`,
    })
    .end(JSON.stringify({ error: match ? 'invalid token' : 'missing bearer token: send Authorization: Bearer <TWILIO_MCP_HTTP_TOKEN>' }));
  return false;
}

export interface RateLimitOptions {
  /** Sustained requests per minute per client. */
  perMinute: number;
  /** Requests a client may make in a burst. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token bucket per client key (remote address). Stale buckets are dropped to bound memory. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(private readonly options: RateLimitOptions, private readonly now: () => number = Date.now) {
    this.refillPerMs = options.perMinute / 60_000;
  }

  /** Returns 0 when allowed, else the milliseconds until the next request would be. */
  take(key: string): number {
    const now = this.now();
    if (this.buckets.size > 10_000) this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, updatedAt: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.updatedAt) * this.refillPerMs);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.refillPerMs);
  }

  check(req: IncomingMessage, res: ServerResponse): boolean {
    const waitMs = this.take(clientKey(req.socket.remoteAddress));
    if (waitMs === 0) return true;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    res
      .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(seconds) })
      .end(JSON.stringify({ error: `rate limit: at most ${this.options.perMinute} requests per minute; retry in ${seconds} s` }));
    return false;
  }

  private sweep(now: number): void {
    const fullAfterMs = this.options.burst / this.refillPerMs;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt > fullAfterMs) this.buckets.delete(key);
  }
}

/**
 * The key a client is counted under. IPv4 (and IPv4-mapped IPv6) by address; other IPv6
 * by its /64, because one subscriber is routinely given a whole /64 and could otherwise
 * rotate addresses to reset every per-address count.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface FailureLimitOptions {
  /** Failures a client may have within `windowMs` before it is refused outright. */
  maxFailures: number;
  windowMs: number;
}

/** Bearer-token failures on /mcp: 10 wrong tokens a minute is far beyond any typo. */
export const DEFAULT_AUTH_FAILURE_LIMIT: FailureLimitOptions = { maxFailures: 10, windowMs: 60_000 };

interface FailureWindow {
  count: number;
  /** When the window opened by the first counted failure closes. */
  resetAt: number;
}

/**
 * Counts FAILED attempts (wrong bearer token, bad webhook signature) per client and refuses
 * a client that has too many, before its credential is even looked at: a brute-force run
 * stops at `maxFailures` guesses per window, whatever it sends next. Successes cost nothing
 * and are never slowed, so a legitimate client is only affected if it shares an address
 * with the attacker. Fixed windows: the first failure opens one, it closes `windowMs` later.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, FailureWindow>();

  constructor(readonly options: FailureLimitOptions, private readonly now: () => number = Date.now) {}

  /** 0 when the client may try, else the milliseconds until it may. */
  blockedForMs(key: string): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const now = this.now();
    if (now >= window.resetAt) {
      this.windows.delete(key);
      return 0;
    }
    return window.count >= this.options.maxFailures ? window.resetAt - now : 0;
  }

  recordFailure(key: string): void {
    const now = this.now();
    // Bounded memory under a flood from many addresses: expired windows go first.
    if (this.windows.size >= 10_000) for (const [k, w] of this.windows) if (now >= w.resetAt) this.windows.delete(k);
    const window = this.windows.get(key);
    if (window && now < window.resetAt) window.count += 1;
    else this.windows.set(key, { count: 1, resetAt: now + this.options.windowMs });
  }

  /** Answers 429 + Retry-After and returns false when `req`'s client is blocked. */
  admit(req: IncomingMessage, res: ServerResponse, what: string): boolean {
    const waitMs = this.blockedForMs(clientKey(req.socket.remoteAddress));
    if (waitMs === 0) return true;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    // The request body is not read: close the connection rather than keep it for reuse.
    res
      .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(seconds), connection: 'close' })
      .end(JSON.stringify({ error: `too many ${what} from this address (${this.options.maxFailures} within ${Math.round(this.options.windowMs / 1000)} s); retry in ${seconds} s` }));
    return false;
  }

  recordFailureOf(req: IncomingMessage): void {
    this.recordFailure(clientKey(req.socket.remoteAddress));
  }
}
