/**
 * Opaque page tokens for list tools: where the next page starts (a Twilio page URL and
 * how many of its items were already returned) plus the local filter in force.
 * The gateway re-checks the URL before following it.
 */
import { ToolFailure } from '../errors/tool-failure.js';

export interface PageCursor {
  url: string;
  skip: number;
  status: string | undefined;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify({ u: cursor.url, s: cursor.skip, st: cursor.status }), 'utf8').toString('base64url');
}

export function decodePageToken(token: string): PageCursor {
  try {
    const raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { u?: unknown; s?: unknown; st?: unknown };
    if (typeof raw.u === 'string' && typeof raw.s === 'number' && Number.isInteger(raw.s) && raw.s >= 0) {
      return { url: raw.u, skip: raw.s, status: typeof raw.st === 'string' ? raw.st : undefined };
    }
  } catch {
    // fall through to the failure below
  }
  throw new ToolFailure({
    message: 'page_token is not valid.',
    nextStep: 'Pass next_page_token exactly as a previous list call returned it, or omit it to start from the newest.',
  });
}
