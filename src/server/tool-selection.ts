/**
 * Decides which tools a client sees, and records why each other tool is hidden, so
 * get_server_status can answer "why can't it do X?" in one call.
 * Read-only wins over every other setting.
 */
import { DEFAULT_TOOLSETS, TOOLSETS, type ToolKind, type Toolset } from '../tools/define-tool.js';

/** What selection needs of a tool (a definition or a catalog entry). */
export interface SelectableTool {
  name: string;
  kind: ToolKind;
  toolset: Toolset;
  sandboxOnly?: boolean;
  requires?: 'number_purchase';
}

export interface SelectionOptions {
  readOnly: boolean;
  /** undefined = the default set. */
  toolsets: readonly Toolset[] | undefined;
  sandbox: boolean;
  /** TWILIO_MCP_ALLOW_NUMBER_PURCHASE: buying and releasing numbers is listed. */
  numberPurchase?: boolean;
}

export interface HiddenTool {
  name: string;
  reason: string;
}

export interface ToolSelection<T extends SelectableTool = SelectableTool> {
  enabled: T[];
  hidden: HiddenTool[];
  toolsets: readonly Toolset[];
}

export class ToolsetError extends Error {}

/** Parses `--toolsets a,b` / TWILIO_MCP_TOOLSETS; `all` enables every toolset. */
export function parseToolsets(value: string | undefined): Toolset[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const names = value.split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
  if (names.includes('all')) return [...TOOLSETS];
  const unknown = names.filter((n) => !(TOOLSETS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new ToolsetError(`Unknown toolset(s): ${unknown.join(', ')}. Valid: ${TOOLSETS.join(', ')}, or all.`);
  }
  return [...new Set([...(names as Toolset[]), 'server' as const])];
}

export function selectTools<T extends SelectableTool>(tools: readonly T[], options: SelectionOptions): ToolSelection<T> {
  const toolsets = options.toolsets ?? DEFAULT_TOOLSETS;
  const enabled: T[] = [];
  const hidden: HiddenTool[] = [];
  for (const tool of tools) {
    if (options.readOnly && tool.kind !== 'read') {
      hidden.push({ name: tool.name, reason: 'read-only mode: this tool sends or changes something' });
    } else if (tool.sandboxOnly && !options.sandbox) {
      hidden.push({ name: tool.name, reason: 'sandbox only: it simulates Twilio and exists only on the embedded sandbox' });
    } else if (tool.requires === 'number_purchase' && !options.numberPurchase) {
      hidden.push({ name: tool.name, reason: 'buying and releasing numbers is off: an operator sets TWILIO_MCP_ALLOW_NUMBER_PURCHASE=true' });
    } else if (!toolsets.includes(tool.toolset)) {
      hidden.push({ name: tool.name, reason: `toolset "${tool.toolset}" is not enabled (--toolsets / TWILIO_MCP_TOOLSETS)` });
    } else {
      enabled.push(tool);
    }
  }
  return { enabled, hidden, toolsets };
}
