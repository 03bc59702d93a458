/**
 * Guards in front of /mcp when serving HTTP: a static bearer token (required whenever the
 * server listens beyond loopback) compared in constant time, and a per-client token-bucket
 * rate limit answered with 429 + Retry-After.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function sameSecret(presented: string, expected: string): boolean {
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
    const waitMs = this.take(req.socket.remoteAddress ?? 'unknown');
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
