/** Every toolset, in the order tools are listed. */
import type { ToolDefinition } from './define-tool.js';
import { messagingTools } from './messaging.js';

export const allTools: readonly ToolDefinition[] = [...messagingTools] as unknown as ToolDefinition[];
