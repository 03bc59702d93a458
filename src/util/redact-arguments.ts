/**
 * Tool arguments as the audit log keeps them: message content redacted when the policy says
 * so, secrets always. One function for every writer of audit rows (the server factory for
 * every tool, the send pipeline for each send's intent).
 */
import { redactSecrets } from './log.js';

/** Argument names whose values are message content. */
const CONTENT_KEYS = new Set(['body', 'content_variables', 'media_url', 'greeting', 'text', 'say', 'twiml']);

export function redactArguments(args: Record<string, unknown>, redactBodies: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (redactBodies && CONTENT_KEYS.has(key)) {
      const size = typeof value === 'string' ? `${value.length} chars` : Array.isArray(value) ? `${value.length} items` : 'object';
      out[key] = `[redacted: ${size}]`;
    } else {
      out[key] = typeof value === 'string' ? redactSecrets(value) : value;
    }
  }
  return out;
}
