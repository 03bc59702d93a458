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
  /** The page size the listing started with: every later page keeps it. */
  limit: number;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify({ u: cursor.url, s: cursor.skip, st: cursor.status, l: cursor.limit }), 'utf8').toString('base64url');
}

export function decodePageToken(token: string): PageCursor {
  try {
    const raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { u?: unknown; s?: unknown; st?: unknown; l?: unknown };
    const wholeIn = (n: unknown, min: number, max: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
    if (raw && typeof raw === 'object' && typeof raw.u === 'string' && URL.canParse(raw.u) && wholeIn(raw.s, 0, 1000) && (raw.st === undefined || typeof raw.st === 'string')) {
      return { url: raw.u, skip: raw.s, status: raw.st, limit: wholeIn(raw.l, 1, 100) ? raw.l : 20 };
    }
  } catch {
    // fall through to the failure below
  }
  throw new ToolFailure({
    message: 'page_token is not valid.',
    nextStep: 'Pass next_page_token exactly as a previous list call returned it, or omit it to start from the newest.',
  });
}
