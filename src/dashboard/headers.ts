/**
 * What every dashboard response carries, so no other page can run code in it, frame it or
 * read it: a Content-Security-Policy without inline scripts or styles (the page's code is
 * its own files), no framing (frame-ancestors and X-Frame-Options), no referrer (a
 * one-time link must not leak), no MIME sniffing — and never an Access-Control-Allow-*
 * header: the dashboard is same-origin only.
 */
import type { ServerResponse } from 'node:http';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** Data and the page itself are never cached (they change, and they are the account's). */
const NO_STORE = { 'cache-control': 'no-store' };

export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...NO_STORE, 'content-type': 'application/json; charset=utf-8', ...extra }).end(JSON.stringify(body));
}

/** A refusal: what was wrong and what to do next, as JSON (the page shows `error`). */
export function refuse(res: ServerResponse, status: number, error: string, nextStep: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error, next_step: nextStep }, extra);
}

export function sendBody(res: ServerResponse, status: number, body: Buffer | string, contentType: string, cache: 'no-store' | 'immutable'): void {
  res
    .writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': contentType,
      'cache-control': cache === 'immutable' ? 'public, max-age=31536000, immutable' : 'no-store',
    })
    .end(body);
}
