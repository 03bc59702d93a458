/**
 * Twilio's wire conventions, written independently of the gateway on purpose: SIDs,
 * RFC 2822 dates, form bodies with repeated keys, and the error body shape
 * `{code, message, more_info, status}`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `Thu, 24 Aug 2023 05:01:45 +0000`, as the 2010-04-01 API writes every date. */
export function rfc2822(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** A form body or query string as a multimap: Twilio repeats keys for arrays (MediaUrl). */
export type Params = Map<string, string[]>;

export function parseParams(text: string): Params {
  const params: Params = new Map();
  for (const [key, value] of new URLSearchParams(text)) {
    const list = params.get(key);
    if (list) list.push(value);
    else params.set(key, [value]);
  }
  return params;
}

/**
 * Parses a query string without turning '+' into a space: Twilio paths and filters carry
 * raw '+' in phone numbers (`To=+1415…`), which clients often leave unencoded.
 */
export function parseQuery(search: string): Params {
  return parseParams(search.replace(/^\?/, '').replace(/\+/g, '%2B'));
}

export const first = (params: Params, key: string): string | undefined => params.get(key)?.[0];

export async function readBody(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new TwilioError(413, 20001, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class TwilioError extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

export function errorBody(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: TwilioError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, errorBody(error.status, error.code, error.message), headers);
}
