/**
 * HTTP Basic auth as the 2010-04-01 API applies it: `AccountSid:AuthToken`. A wrong or
 * missing credential is 401/20003 with a `WWW-Authenticate` challenge, so curl and
 * browsers behave as they do against api.twilio.com.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TwilioError } from './wire.js';

export const AUTH_CHALLENGE = { 'www-authenticate': 'Basic realm="Twilio API"' } as const;

export function unauthenticated(): TwilioError {
  return new TwilioError(401, 20003, 'Authenticate');
}

/** Constant-time, so a probe cannot learn the token byte by byte from response times. */
export function isAuthorized(req: IncomingMessage, accountSid: string, authToken: string): boolean {
  const match = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const given = Buffer.from(decoded);
  const expected = Buffer.from(`${accountSid}:${authToken}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
