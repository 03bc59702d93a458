/**
 * The server factory: one McpServer with the enabled tools registered. The same factory
 * serves stdio and every HTTP session; services are shared, MCP state is per instance.
 */
import { acceptedContent, inputRequired, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { NeedsConfirmation } from '../policy/policy-engine.js';
import type { EventHub } from '../services/events.js';
import type { Services } from '../services/index.js';
import type { ToolDefinition } from '../tools/define-tool.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { log } from '../util/log.js';
import { annotationsFor } from './annotations.js';
import { compactSchema } from './compact-schema.js';
import { registerTwilioResources } from './twilio-resources.js';
import { failureResult, successResult } from './tool-result.js';

export const SERVER_NAME = 'mcp-server-twilio';
const CONFIRM_KEY = 'confirm_first_contact';
const ConfirmSchema = z.object({ confirm: z.boolean().describe('Send this first message?') });
export const SERVER_VERSION = '0.1.0';

export interface ServerDependencies {
  services: Services;
  tools: readonly ToolDefinition[];
  instructions: string;
  /** When given, the inbox resources are registered and subscriptions fed from it. */
  events?: EventHub;
  /** What a first contact needing confirmation does when the client cannot ask its user. */
  firstContactWithoutElicitation?: 'allow' | 'refuse';
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
        inputSchema: compactSchema(tool.input),
        outputSchema: compactSchema(tool.output),
        annotations: annotationsFor(tool.kind),
      },
      async (args, ctx) => {
        const progressToken = ctx.mcpReq._meta?.progressToken;
        const progress = async (done: number, total: number, message: string) => {
          if (progressToken === undefined) return;
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: done, total, message } });
        };
        const answers = ctx.mcpReq.inputResponses;
        const execute = (firstContactConfirmed: boolean) =>
          tool.handle(args, { services: deps.services, signal: ctx.mcpReq.signal, progress, firstContactConfirmed });
        // Every call with a side effect is audited, whether it succeeded or not.
        const run = tool.kind === 'read' ? execute : async (firstContactConfirmed: boolean) => {
          const audit = (resultSid: string | null, error: string | null) =>
            deps.services.audit
              .record({ tool: tool.name, args: args as Record<string, unknown>, resultSid, error, client: server.server.getClientVersion()?.name ?? null, sessionId: ctx.sessionId ?? null })
              .catch((e: unknown) => log.error(`audit log write failed: ${e instanceof Error ? e.message : String(e)}`));
          try {
            const output = (await execute(firstContactConfirmed)) as Record<string, unknown>;
            await audit(typeof output.message_sid === 'string' ? output.message_sid : null, null);
            return output;
          } catch (error) {
            if (!(error instanceof NeedsConfirmation)) await audit(null, error instanceof Error ? error.message : String(error));
            throw error;
          }
        };
        try {
          const confirmed = acceptedContent(answers, CONFIRM_KEY, ConfirmSchema)?.confirm === true;
          return successResult((await run(confirmed)) as Record<string, unknown>);
        } catch (error) {
          if (!(error instanceof NeedsConfirmation)) return failureResult(tool.name, error);
          // Asked already and not confirmed: the user said no (or closed the dialog).
          if (answers && CONFIRM_KEY in answers) {
            return failureResult(tool.name, new ToolFailure({ message: 'The user did not confirm this first contact; nothing was sent.', nextStep: 'Do not retry unless the user asks for it.' }));
          }
          if (server.server.getClientCapabilities()?.elicitation) {
            return inputRequired({
              inputRequests: { [CONFIRM_KEY]: inputRequired.elicit({ message: error.question, requestedSchema: ConfirmSchema }) },
            });
          }
          if (deps.firstContactWithoutElicitation === 'allow') {
            try {
              return successResult((await run(true)) as Record<string, unknown>);
            } catch (retryError) {
              return failureResult(tool.name, retryError);
            }
          }
          return failureResult(
            tool.name,
            new ToolFailure({
              message: `${error.question} The policy requires the user's confirmation, and this client cannot ask (no elicitation support); nothing was sent.`,
              nextStep: 'Use a client that supports elicitation, or an operator sets first_contact_without_elicitation to "allow".',
            }),
          );
        }
      },
    );
  }
  deps.extend?.(server);
  return server;
}
