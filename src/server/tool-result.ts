/**
 * Shapes tool results: structured content plus the same JSON as text (many clients show
 * only text), and failures as `isError` results an agent can act on, never protocol errors.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import { ToolFailure } from '../errors/tool-failure.js';
import { log, redactSecrets } from '../util/log.js';

export function successResult(output: Record<string, unknown>): CallToolResult {
  const text = redactSecrets(JSON.stringify(output));
  // The structured copy is the redacted text parsed back, so the two can never differ.
  return {
    content: [{ type: 'text', text }],
    structuredContent: JSON.parse(text) as Record<string, unknown>,
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
    content: [{ type: 'text', text: redactSecrets(JSON.stringify(failure.toJSON())) }],
  };
}
