/**
 * HTTP Basic auth as Twilio applies it: `AccountSid:AuthToken`, or an API key
 * `SK…:secret` (Twilio's recommended credential; the account then comes from the path).
 * A wrong or missing credential is 401/20003 with a `WWW-Authenticate` challenge, so curl
 * and browsers behave as they do against api.twilio.com.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TwilioError } from './wire.js';

export const AUTH_CHALLENGE = { 'www-authenticate': 'Basic realm="Twilio API"' } as const;

/** An API key of the emulated account (SK… SID and its secret). */
export interface ApiKeyCredential {
  sid: string;
  secret: string;
}

export function unauthenticated(): TwilioError {
  return new TwilioError(401, 20003, 'Authenticate');
}

function sameBytes(given: Buffer, expected: string): boolean {
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * Constant-time per credential, so a probe cannot learn a token byte by byte from
 * response times. Every credential is compared (no early exit on the first match), so
 * the time does not tell which kind of credential was close either.
 */
export function isAuthorized(req: IncomingMessage, accountSid: string, authToken: string, apiKey?: ApiKeyCredential): boolean {
  const match = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  if (decoded.indexOf(':') < 0) return false;
  const given = Buffer.from(decoded);
  const byToken = sameBytes(given, `${accountSid}:${authToken}`);
  const byKey = apiKey !== undefined && sameBytes(given, `${apiKey.sid}:${apiKey.secret}`);
  return byToken || byKey;
}
