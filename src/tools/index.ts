/** Every toolset, in the order tools are listed. */
import type { ToolDefinition } from './define-tool.js';
import { messagingTools } from './messaging.js';
import { serverTools } from './server.js';

export const allTools: readonly ToolDefinition[] = [...messagingTools, ...serverTools] as unknown as ToolDefinition[];
