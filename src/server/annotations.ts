/**
 * The one place that maps a tool's kind to MCP annotations, so a client can tell a
 * harmless read from a billed, irreversible send without reading descriptions.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { ToolKind } from '../tools/define-tool.js';

export function annotationsFor(kind: ToolKind, title: string): ToolAnnotations {
  switch (kind) {
    case 'read':
      return { title, readOnlyHint: true, openWorldHint: true };
    case 'send':
      return { title, readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
    case 'update':
      return { title, readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };
    case 'destructive':
      return { title, readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true };
  }
}
