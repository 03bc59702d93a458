/**
 * The server factory: one McpServer with the enabled tools registered. The same factory
 * serves stdio and every HTTP session; services are shared, MCP state is per instance.
 */
import { McpServer } from '@modelcontextprotocol/server';
import type { EventHub } from '../services/events.js';
import type { Services } from '../services/index.js';
import type { ToolDefinition } from '../tools/define-tool.js';
import { annotationsFor } from './annotations.js';
import { registerTwilioResources } from './twilio-resources.js';
import { failureResult, successResult } from './tool-result.js';

export const SERVER_NAME = 'mcp-server-twilio';
export const SERVER_VERSION = '0.1.0';

export interface ServerDependencies {
  services: Services;
  tools: readonly ToolDefinition[];
  instructions: string;
  /** When given, the inbox resources are registered and subscriptions fed from it. */
  events?: EventHub;
  /** Extra registrations (the conformance-suite fixtures, only behind MCP_CONFORMANCE_FIXTURES=1). */
  extend?: (server: McpServer) => void;
}

export function createServer(deps: ServerDependencies): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: {} }, instructions: deps.instructions },
  );
  if (deps.events) registerTwilioResources(server, deps.services, deps.events);
  for (const tool of deps.tools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: annotationsFor(tool.kind),
      },
      async (args, ctx) => {
        try {
          const progressToken = ctx.mcpReq._meta?.progressToken;
          const progress = async (done: number, total: number, message: string) => {
            if (progressToken === undefined) return;
            await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: done, total, message } });
          };
          const output = await tool.handle(args, { services: deps.services, signal: ctx.mcpReq.signal, progress });
          return successResult(output as Record<string, unknown>);
        } catch (error) {
          return failureResult(tool.name, error);
        }
      },
    );
  }
  deps.extend?.(server);
  return server;
}
