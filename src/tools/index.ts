/** Every toolset, in the order tools are listed. */
import type { ToolDefinition } from './define-tool.js';
import { inboxTools } from './inbox.js';
import { messagingTools } from './messaging.js';
import { serverTools } from './server.js';
import { voiceTools } from './voice.js';
import { verifyTools } from './verify.js';
import { lookupTools } from './lookup.js';
import { numbersTools } from './numbers.js';
import { conversationsTools } from './conversations.js';
import { videoTools } from './video.js';
import { insightsTools } from './insights.js';
import { campaignsTools } from './campaigns.js';

export const allTools: readonly ToolDefinition[] = [...messagingTools, ...inboxTools, ...voiceTools, ...verifyTools, ...lookupTools, ...numbersTools, ...conversationsTools, ...videoTools, ...insightsTools, ...campaignsTools, ...serverTools] as unknown as ToolDefinition[];
