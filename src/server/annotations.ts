/**
 * The one place that maps a tool's kind to MCP annotations, so a client can tell a
 * harmless read from a billed, irreversible send without reading descriptions.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { ToolKind } from '../tools/define-tool.js';

/** The tool's title is already on the tool itself, so annotations do not repeat it. */
export function annotationsFor(kind: ToolKind): ToolAnnotations {
  switch (kind) {
    case 'read':
      return { readOnlyHint: true, openWorldHint: true };
    case 'send':
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
    case 'update':
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };
    case 'destructive':
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true };
  }
}
