/**
 * The server factory: one McpServer with the enabled tools registered. The same factory
 * serves stdio and every HTTP session; services are shared, MCP state is per instance.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { acceptedContent, createRequestStateCodec, inputRequired, McpServer, type RegisteredTool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { NeedsConfirmation } from '../policy/policy-engine.js';
import type { EventHub } from '../services/events.js';
import type { Services } from '../services/index.js';
import type { ToolEntry } from '../tools/catalog.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { log } from '../util/log.js';
import { runInCallContext, type CallContext } from '../pipeline/call-context.js';
import { auditErrorText } from '../services/audit.js';
import { annotationsFor } from './annotations.js';
import { CAMPAIGN_TASK_TOOL, installCampaignTasks } from './campaign-tasks.js';
import { registerAppViews, registrarFor } from './app-views.js';
import { registerTwilioResources } from './twilio-resources.js';
import { failureResult, successResult } from './tool-result.js';

export const SERVER_NAME = 'mcp-server-twilio';
const CONFIRM_KEY = 'confirm_first_contact';
const ConfirmSchema = z.object({ confirm: z.boolean().describe('Go ahead?') });
export const SERVER_VERSION = '0.1.0';

export interface ServerDependencies {
  services: Services;
  tools: readonly ToolEntry[];
  instructions: string;
  /** When given, the inbox resources are registered and subscriptions fed from it. */
  events?: EventHub;
  /** What a first contact needing confirmation does when the client cannot ask its user. */
  firstContactWithoutElicitation?: 'allow' | 'refuse';
  /** Extra registrations (the conformance-suite fixtures, only behind MCP_CONFORMANCE_FIXTURES=1). */
  extend?: (server: McpServer) => void;
}

/** What this server's own confirmation request carries through the client (signed, not secret). */
interface ConfirmationState {
  tool: string;
  /** sha256 of the call's arguments: a confirmation is for exactly this send. */
  args: string;
  nonce: string;
}

/**
 * Confirmations count only as answers to a request this process issued for this very call:
 * the request state is HMAC-signed with a per-process key (a client cannot forge one), names
 * the tool and the arguments' hash, and its nonce is spent on first use (one confirmation,
 * one send). Shared by every McpServer this process creates (one per HTTP session or request).
 */
const confirmationCodec = createRequestStateCodec<ConfirmationState>({ key: randomBytes(32), ttlSeconds: 600 });
const openConfirmations = new Map<string, number>();
const MAX_OPEN_CONFIRMATIONS = 10_000;
const argsHash = (args: unknown) => createHash('sha256').update(JSON.stringify(args ?? {})).digest('hex');

async function mintConfirmation(tool: string, args: unknown): Promise<string> {
  const nonce = randomUUID();
  if (openConfirmations.size >= MAX_OPEN_CONFIRMATIONS) openConfirmations.delete(openConfirmations.keys().next().value!);
  openConfirmations.set(nonce, Date.now());
  return confirmationCodec.mint({ tool, args: argsHash(args), nonce });
}

/** True only for this server's own, unspent request for this tool and these arguments. */
function spendConfirmation(state: unknown, tool: string, args: unknown): boolean {
  if (!state || typeof state !== 'object') return false;
  const s = state as Partial<ConfirmationState>;
  if (s.tool !== tool || s.args !== argsHash(args) || typeof s.nonce !== 'string') return false;
  return openConfirmations.delete(s.nonce);
}

export function createServer(deps: ServerDependencies): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: {} }, instructions: deps.instructions, requestState: { verify: (state, ctx) => confirmationCodec.verify(state, ctx) } },
  );
  if (deps.events) registerTwilioResources(server, deps.services, deps.events);
  let campaignTaskTool: RegisteredTool | undefined;
  for (const tool of deps.tools) {
    const register = registrarFor(server, tool.view);
    const registered = register(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: annotationsFor(tool.kind),
      },
      async (args, ctx) => {
        const progressToken = ctx.mcpReq._meta?.progressToken;
        const progress = async (done: number, total: number, message: string) => {
          if (progressToken === undefined) return;
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: done, total, message } });
        };
        const answers = ctx.mcpReq.inputResponses;
        const callContext = (): CallContext => ({
          tool: tool.name,
          args: args as Record<string, unknown>,
          clientName: server.server.getClientVersion()?.name ?? null,
          sessionId: ctx.sessionId ?? null,
        });
        const execute = async (firstContactConfirmed: boolean) =>
          (await tool.definition()).handle(args as never, { services: deps.services, signal: ctx.mcpReq.signal, progress, firstContactConfirmed });
        // Every call with a side effect is audited, whether it succeeded or not; a send that
        // reached the pipeline's reservation was audited there (intent first, then outcome).
        const run = tool.kind === 'read' ? execute : async (firstContactConfirmed: boolean) => {
          const context = callContext();
          const audit = async (resultSid: string | null, error: string | null) => {
            if (!context.auditedSend) {
              await deps.services.audit
                .record({ tool: tool.name, args: context.args, resultSid, error, client: context.clientName, sessionId: context.sessionId })
                .catch((e: unknown) => log.error(`audit log write failed: ${e instanceof Error ? e.message : String(e)}`));
            }
            // Watchers (the dashboard) learn that a send, a refusal or a change is on disk.
            try {
              deps.events?.publish({ kind: 'activity', tool: tool.name, failed: error !== null });
            } catch (e) {
              log.error(`activity listener failed: ${e instanceof Error ? e.message : String(e)}`);
            }
          };
          return runInCallContext(context, async () => {
            try {
              const output = (await execute(firstContactConfirmed)) as Record<string, unknown>;
              await audit(typeof output.message_sid === 'string' ? output.message_sid : null, null);
              return output;
            } catch (error) {
              if (!(error instanceof NeedsConfirmation)) await audit(null, auditErrorText(error));
              throw error;
            }
          });
        };
        // An answer counts only if it answers this server's own request for this call.
        const ours = answers !== undefined && CONFIRM_KEY in answers && spendConfirmation(await ctx.mcpReq.requestState(), tool.name, args);
        try {
          const confirmed = ours && acceptedContent(answers, CONFIRM_KEY, ConfirmSchema)?.confirm === true;
          return successResult((await run(confirmed)) as Record<string, unknown>);
        } catch (error) {
          if (!(error instanceof NeedsConfirmation)) return failureResult(tool.name, error);
          // Asked already and not confirmed: the user said no (or closed the dialog).
          if (ours) {
            const message = error.withoutElicitation ? 'The user did not confirm; nothing was done.' : 'The user did not confirm this first contact; nothing was sent.';
            return failureResult(tool.name, new ToolFailure({ message, nextStep: 'Do not retry unless the user asks for it.' }));
          }
          if (server.server.getClientCapabilities()?.elicitation) {
            return inputRequired({
              inputRequests: { [CONFIRM_KEY]: inputRequired.elicit({ message: error.question, requestedSchema: ConfirmSchema }) },
              requestState: await mintConfirmation(tool.name, args),
            });
          }
          if ((error.withoutElicitation ?? deps.firstContactWithoutElicitation) === 'allow') {
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
    if (tool.name === CAMPAIGN_TASK_TOOL) campaignTaskTool = registered;
  }
  // 2025-11-25 clients that declared `tasks` may run start_campaign as a task (the campaign is the task).
  if (campaignTaskTool) installCampaignTasks(server, deps.services, campaignTaskTool);
  registerAppViews(server, deps.tools.flatMap((tool) => (tool.view ? [tool.view] : [])));
  deps.extend?.(server);
  return server;
}
