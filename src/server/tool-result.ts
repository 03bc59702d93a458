/**
 * Shapes tool results: structured content plus the same JSON as text (many clients show
 * only text), and failures as `isError` results an agent can act on, never protocol errors.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import { ToolFailure } from '../errors/tool-failure.js';
import { log, redactSecrets } from '../util/log.js';

/** Every string inside `value` with registered secrets masked (keys too). */
function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactSecrets(k), redactDeep(v)]));
  }
  return value;
}

export function successResult(output: Record<string, unknown>): CallToolResult {
  // One redacted value behind both copies, so the structured one can never say more than the text.
  const structured = redactDeep(output) as Record<string, unknown>;
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }],
    structuredContent: structured,
  };
}

export function failureResult(toolName: string, error: unknown): CallToolResult {
  const failure =
    error instanceof ToolFailure
      ? error
      : new ToolFailure({
          message: `Internal error in ${toolName}.`,
          nextStep: 'Try again; if it happens again, report it with the server log (stderr).',
        });
  if (!(error instanceof ToolFailure)) {
    log.error(`${toolName} failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(redactDeep(failure.toJSON())) }],
  };
}
