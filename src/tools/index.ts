/** Every toolset, in the order tools are listed. */
import type { ToolDefinition } from './define-tool.js';
import { inboxTools } from './inbox.js';
import { messagingTools } from './messaging.js';
import { serverTools } from './server.js';
import { voiceTools } from './voice.js';
import { verifyTools } from './verify.js';
import { lookupTools } from './lookup.js';
import { numbersTools } from './numbers.js';

export const allTools: readonly ToolDefinition[] = [...messagingTools, ...inboxTools, ...voiceTools, ...verifyTools, ...lookupTools, ...numbersTools, ...serverTools] as unknown as ToolDefinition[];
