/**
 * Campaigns as MCP tasks (protocol revision 2025-11-25, "Tasks", experimental there).
 *
 * A client that declared the `tasks` capability may call start_campaign as a task-augmented
 * request (`params.task`). The campaign is then started exactly as a plain call starts it —
 * the very same tools/call handler runs, with its validation, guards, first-contact
 * confirmation and audit — and the answer is a CreateTaskResult whose taskId IS the campaign
 * id. From then on the campaign is the task:
 *
 *   tasks/get     running / paused → working ("412 of 1000 done"), completed → completed,
 *                 canceled → cancelled, canceled with an error (the import failed) → failed
 *   tasks/result  get_campaign's result as a CallToolResult, once the campaign is terminal
 *                 (the request waits for that, bounded by RESULT_WAIT_MS)
 *   tasks/cancel  CampaignService.control(cancel), audited as control_campaign is
 *   tasks/list    the campaigns, newest first, as tasks
 *   notifications/tasks/status on each status change of a task this connection created,
 *   and notifications/progress with the call's progressToken while it runs.
 *
 * A call without `params.task`, a client without the capability, or a 2026-07-28 connection
 * (tasks left the core protocol there; the SDK strips `capabilities.tasks` and
 * `execution` from what such clients see) gets today's behaviour, unchanged. Stateless HTTP
 * serves each 2025-era request on a fresh instance that never saw the client's initialize:
 * there the request's own `params.task` decides (the campaigns are on disk, so every task
 * method works per request too; status notifications have no channel there and stop).
 *
 * Why the tools/call handler is wrapped rather than the tool: the v2 SDK (2.4.0) has the task
 * wire vocabulary but no task runtime. A tool callback never sees `params.task`, and the
 * Server's own tools/call wrapper rejects any result that is not a CallToolResult. So the
 * handler the SDK stored for tools/call is wrapped once, after the tools are registered:
 * plain calls go straight to it; a task call goes to it with `task` removed and its
 * CallToolResult becomes the CreateTaskResult. The wrap needs the Protocol's handler table,
 * which the SDK does not make public; if it is not there, nothing about tasks is declared.
 *
 * Access: task ids are campaign ids (CP + 122 random bits), unguessable. Campaigns belong to
 * the server, not to a session (get_campaign reads any of them), so tasks are not bound to an
 * authorization context either: whoever may call get_campaign may call tasks/get.
 */
import { randomUUID } from 'node:crypto';
import {
  ProtocolError,
  ProtocolErrorCode,
  RELATED_TASK_META_KEY,
  type CallToolResult,
  type JSONRPCRequest,
  type McpServer,
  type RegisteredTool,
  type Result,
  type ServerContext,
  type Task,
  type TaskStatus,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Services } from '../services/index.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { log } from '../util/log.js';
import { successResult } from './tool-result.js';

/** The one tool that may run as a task. */
export const CAMPAIGN_TASK_TOOL = 'start_campaign';
/** The only revision whose core protocol has tasks. */
const TASKS_REVISION = '2025-11-25';
/** What the server declares: exactly what is implemented below. */
export const CAMPAIGN_TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };
/** Suggested tasks/get interval; a campaign's counts move every message. */
export const POLL_INTERVAL_MS = 1000;
/** tasks/result waits at most this long for a campaign to finish (a paused one could wait forever). */
export const RESULT_WAIT_MS = 300_000;
const RESULT_CHECK_MS = 500;
/** JSON-RPC code (implementation-defined range) for "still running when the wait ran out". */
export const RESULT_WAIT_EXCEEDED = -32001;
/** Tasks per tasks/list page; the walk stops after MAX_LISTED (campaigns are listed newest first). */
const LIST_PAGE = 20;
const MAX_LISTED = 1000;
/** Status/progress notifications: at most this many watched tasks per connection, for at most this long each. */
const MAX_WATCHED = 20;
const WATCH_MS = 24 * 3600_000;
/** Refusals before any campaign existed are kept (in memory, per process) this long, this many. */
const REFUSAL_TTL_MS = 3600_000;
const MAX_REFUSALS = 100;
const IMMEDIATE_RESPONSE_KEY = 'io.modelcontextprotocol/model-immediate-response';

/** What the task side reads of a campaign (start_campaign's and get_campaign's output share it). */
interface CampaignView {
  campaign_id: string;
  state: string;
  counts: Record<string, number>;
  error?: string;
  created_at: string;
  updated_at: string;
}

/** A task-augmented start_campaign refused before any campaign existed: failed at once. */
interface Refusal {
  task: Task;
  /** The session it was refused in: only that session sees it (stdio and stateless HTTP have none). */
  sessionId: string | undefined;
  result: CallToolResult;
  expiresAt: number;
}

type StoredHandler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>;

/**
 * Kept per process, not per McpServer: stateless HTTP serves each request on a new one.
 * Bound to the session it happened in (a refusal's text can quote the message and a number).
 */
const refusals = new Map<string, Refusal>();

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
const ACTIVE_ROWS = ['pending', 'held', 'sending', 'outcome_unknown'];

export function taskStatusOf(view: Pick<CampaignView, 'state' | 'error'>): TaskStatus {
  switch (view.state) {
    case 'completed':
      return 'completed';
    case 'canceled':
      // The engine cancels a campaign whose recipients could not be imported, with the reason.
      return view.error ? 'failed' : 'cancelled';
    default:
      return 'working'; // running, and paused: resumable, so not terminal
  }
}

function statusMessageOf(view: CampaignView): string {
  const n = (state: string) => view.counts[state] ?? 0;
  const total = Object.values(view.counts).reduce((a, b) => a + b, 0);
  const done = total - ACTIVE_ROWS.reduce((a, s) => a + n(s), 0);
  const others = Object.entries(view.counts)
    .filter(([state, count]) => count > 0 && state !== 'sent' && !ACTIVE_ROWS.includes(state))
    .map(([state, count]) => `${count} ${state}`);
  const rest = others.length > 0 ? ` (${others.join(', ')})` : '';
  switch (taskStatusOf(view)) {
    case 'completed':
      return `Completed: ${n('sent')} of ${total} sent${rest}.`;
    case 'failed':
      return `Failed: ${view.error}`;
    case 'cancelled':
      return `Cancelled: ${n('sent')} of ${total} sent; the rest will not be sent.`;
    default: {
      const held = n('held') > 0 ? `; ${n('held')} held (quiet hours or a cap)` : '';
      if (view.state === 'paused') return `Paused: ${done} of ${total} done; control_campaign resumes it.`;
      return `${done} of ${total} done, ${n('sent')} sent${held}.`;
    }
  }
}

/** A campaign as a task. Campaigns stay in the store: no ttl (null, unlimited). */
export function campaignTask(view: CampaignView): Task {
  return {
    taskId: view.campaign_id,
    status: taskStatusOf(view),
    statusMessage: statusMessageOf(view),
    createdAt: view.created_at,
    lastUpdatedAt: view.updated_at,
    ttl: null,
    pollInterval: POLL_INTERVAL_MS,
  };
}

function progressOf(view: CampaignView): { done: number; total: number } {
  const total = Object.values(view.counts).reduce((a, b) => a + b, 0);
  return { done: total - ACTIVE_ROWS.reduce((a, s) => a + (view.counts[s] ?? 0), 0), total };
}

const related = (taskId: string) => ({ [RELATED_TASK_META_KEY]: { taskId } });
const notFound = (taskId: string) => new ProtocolError(ProtocolErrorCode.InvalidParams, `Failed to retrieve task: there is no task ${taskId} (task ids are campaign ids; tasks/list shows them).`);

/** start_campaign's structured output, when the call started a campaign. */
function startedCampaign(result: Result): CampaignView | undefined {
  const call = result as CallToolResult;
  const view = call.structuredContent as Partial<CampaignView> | undefined;
  return call.isError !== true && typeof view?.campaign_id === 'string' ? (view as CampaignView) : undefined;
}

function textOf(result: CallToolResult): string {
  const first = result.content?.find((c) => c.type === 'text');
  return first && 'text' in first ? first.text : '';
}

/** The `error` of a failure result's JSON, or its text. */
function failureMessage(result: CallToolResult): string {
  const text = textOf(result);
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the SDK's own message (e.g. invalid arguments)
  }
  return text || 'start_campaign failed before a campaign was created.';
}

const TaskIdParams = z.object({ taskId: z.string().min(1).max(200) });
const ListParams = z.object({ cursor: z.string().max(200).optional() });
const TaskParam = z.object({ ttl: z.number().nonnegative().optional() }).loose();

/**
 * Installs the task side on a server whose tools are registered; `startCampaign` is
 * start_campaign's registration. Returns false (and declares nothing) if the SDK's handler
 * table is not where this expects it.
 */
export function installCampaignTasks(server: McpServer, services: Services, startCampaign: RegisteredTool): boolean {
  const protocol = server.server;
  const handlers = (protocol as unknown as { _requestHandlers?: Map<string, StoredHandler> })._requestHandlers;
  const plainToolsCall = handlers instanceof Map ? handlers.get('tools/call') : undefined;
  if (!handlers || !plainToolsCall) {
    log.warn('campaign tasks are off: this version of the MCP SDK keeps its request handlers elsewhere (start_campaign still works as a plain call)');
    return false;
  }

  const watched = new Set<string>();

  /**
   * 'tasks': a 2025-11-25 connection (stdio, an HTTP session). 'per-request': a 2025-era
   * instance serving one HTTP request (--stateless) that never saw the initialize, so the
   * client's capabilities cannot be known. 'none': 2026-07-28 (or an older revision).
   */
  const era = (): 'tasks' | 'per-request' | 'none' => {
    const version = protocol.getNegotiatedProtocolVersion();
    return version === TASKS_REVISION ? 'tasks' : version === undefined ? 'per-request' : 'none';
  };
  /**
   * A task when the client declared the capability; per request (stateless HTTP), where its
   * declaration is out of reach, the request's own params.task is the client's word.
   */
  const tasksNegotiated = () => {
    const current = era();
    return current === 'per-request' || (current === 'tasks' && Boolean(protocol.getClientCapabilities()?.tasks));
  };
  const assertTasksEra = (method: string) => {
    if (era() === 'none') throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `${method} is not available on this protocol revision`);
  };

  const refusal = (taskId: string, sessionId: string | undefined): Refusal | undefined => {
    const found = refusals.get(taskId);
    if (found && found.expiresAt <= Date.now()) refusals.delete(taskId);
    return found && found.expiresAt > Date.now() && found.sessionId === sessionId ? found : undefined;
  };

  /** The campaign behind a task id, or the JSON-RPC error the spec names for an unknown id. */
  const campaignView = async (taskId: string): Promise<CampaignView> => {
    try {
      return (await services.campaigns.get(taskId)) as CampaignView;
    } catch (error) {
      if (error instanceof ToolFailure) throw notFound(taskId);
      throw error;
    }
  };

  const notify = (method: string, params: Record<string, unknown>) => protocol.notification({ method, params });

  /**
   * Status (and, with a progress token, progress) notifications for a task this connection
   * created, until it is terminal or the connection is gone. Polls the store: the engine's
   * events do not reach the server layer, and a campaign's state is on disk anyway.
   */
  const watch = (first: Task, progressToken: string | number | undefined) => {
    if (TERMINAL.has(first.status) || watched.size >= MAX_WATCHED || watched.has(first.taskId)) return;
    const taskId = first.taskId;
    watched.add(taskId);
    const deadline = Date.now() + WATCH_MS;
    let lastStatus = first.status;
    let lastDone = -1;
    const tick = async () => {
      if (!server.isConnected() || Date.now() > deadline) return void watched.delete(taskId);
      let view: CampaignView;
      try {
        view = await campaignView(taskId);
      } catch {
        return void watched.delete(taskId);
      }
      const task = campaignTask(view);
      try {
        const { done, total } = progressOf(view);
        if (progressToken !== undefined && done !== lastDone) {
          lastDone = done;
          await notify('notifications/progress', { progressToken, progress: done, total, message: task.statusMessage, _meta: related(taskId) });
        }
        if (task.status !== lastStatus) {
          lastStatus = task.status;
          // The full task; without related-task _meta (the id is in the params).
          await notify('notifications/tasks/status', { ...task });
        }
      } catch {
        return void watched.delete(taskId); // not connected any more
      }
      if (TERMINAL.has(task.status)) return void watched.delete(taskId);
      setTimeout(() => void tick(), POLL_INTERVAL_MS).unref();
    };
    setTimeout(() => void tick(), POLL_INTERVAL_MS).unref();
  };

  const startAsTask = async (request: JSONRPCRequest, ctx: ServerContext, task: unknown): Promise<Result> => {
    const taskParam = TaskParam.safeParse(task);
    if (!taskParam.success) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid task parameter: ${taskParam.error.message}`);
    const { task: _task, ...params } = request.params as Record<string, unknown>;
    const args = params.arguments;
    // The task is the wait: wait_seconds would only delay the CreateTaskResult.
    if (args && typeof args === 'object' && !Array.isArray(args) && 'wait_seconds' in args) {
      const { wait_seconds: _wait, ...rest } = args as Record<string, unknown>;
      params.arguments = rest;
    }
    const result = await plainToolsCall({ ...request, params }, ctx);
    const view = startedCampaign(result);
    if (view) {
      const created = campaignTask(view);
      const progressToken = ctx.mcpReq._meta?.progressToken;
      watch(created, typeof progressToken === 'string' || typeof progressToken === 'number' ? progressToken : undefined);
      // What a host may hand the model at once: start_campaign's own answer (preview, cost).
      return { task: created, _meta: { [IMMEDIATE_RESPONSE_KEY]: textOf(result as CallToolResult) } };
    }
    // Refused before a campaign existed (bad arguments, a guard, no confirmation): a task
    // that has failed already, whose result is exactly the refusal a plain call returns.
    const now = new Date().toISOString();
    // Receivers may choose the ttl: the one asked for, between a minute and an hour.
    const ttl = Math.min(Math.max(taskParam.data.ttl ?? REFUSAL_TTL_MS, 60_000), REFUSAL_TTL_MS);
    const failed: Task = { taskId: randomUUID(), status: 'failed', statusMessage: failureMessage(result as CallToolResult), createdAt: now, lastUpdatedAt: now, ttl, pollInterval: POLL_INTERVAL_MS };
    if (refusals.size >= MAX_REFUSALS) refusals.delete(refusals.keys().next().value!);
    refusals.set(failed.taskId, { task: failed, sessionId: ctx.sessionId, result: result as CallToolResult, expiresAt: Date.now() + ttl });
    return { task: failed, _meta: { [IMMEDIATE_RESPONSE_KEY]: textOf(result as CallToolResult) } };
  };

  handlers.set('tools/call', async (request, ctx) => {
    const params = request.params as { name?: unknown; task?: unknown } | undefined;
    // Receivers ignore task augmentation from a peer that did not negotiate tasks.
    if (params?.task === undefined || !tasksNegotiated()) return plainToolsCall(request, ctx);
    if (params.name !== CAMPAIGN_TASK_TOOL) {
      throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Tool ${String(params.name)} cannot run as a task (its execution.taskSupport is absent); call it without params.task.`);
    }
    return startAsTask(request, ctx, params.task);
  });

  protocol.setRequestHandler('tasks/get', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    assertTasksEra('tasks/get');
    const refused = refusal(taskId, ctx.sessionId);
    return refused ? { ...refused.task } : campaignTask(await campaignView(taskId));
  });

  protocol.setRequestHandler('tasks/result', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    assertTasksEra('tasks/result');
    const refused = refusal(taskId, ctx.sessionId);
    if (refused) return { ...refused.result, _meta: { ...refused.result._meta, ...related(taskId) } };
    // Blocks until the campaign is terminal, as the spec requires, but not forever.
    const deadline = Date.now() + RESULT_WAIT_MS;
    const progressToken = ctx.mcpReq._meta?.progressToken;
    let view = await campaignView(taskId);
    while (!TERMINAL.has(taskStatusOf(view))) {
      if (Date.now() >= deadline) {
        throw new ProtocolError(RESULT_WAIT_EXCEEDED, `Campaign ${taskId} is still ${view.state} after ${RESULT_WAIT_MS / 1000} s (${statusMessageOf(view)}). Poll tasks/get and call tasks/result again once it is terminal.`);
      }
      await new Promise((resolve) => setTimeout(resolve, RESULT_CHECK_MS));
      if (ctx.mcpReq.signal.aborted) throw new ProtocolError(ProtocolErrorCode.InternalError, 'tasks/result was cancelled by the client');
      view = await campaignView(taskId);
      if (progressToken !== undefined) {
        const { done, total } = progressOf(view);
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: done, total, message: statusMessageOf(view), _meta: related(taskId) } }).catch(() => {});
      }
    }
    const result = successResult(view as unknown as Record<string, unknown>);
    // A campaign that failed (its import) is a failed tool call: isError, as the spec maps it.
    return { ...result, ...(taskStatusOf(view) === 'failed' && { isError: true }), _meta: related(taskId) };
  });

  protocol.setRequestHandler('tasks/list', { params: ListParams }, async ({ cursor }, ctx) => {
    assertTasksEra('tasks/list');
    let offset = 0;
    if (cursor !== undefined) {
      const decoded = /^o(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!decoded) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor for tasks/list: pass back a nextCursor exactly as it was returned.');
      offset = Number(decoded[1]);
    }
    const refused = [...refusals.keys()].map((id) => refusal(id, ctx.sessionId)).filter((r): r is Refusal => r !== undefined).reverse().map((r) => r.task);
    const wanted = Math.min(offset + LIST_PAGE + 1, MAX_LISTED + 1);
    const { campaigns } = await services.campaigns.list({ limit: Math.max(0, wanted - refused.length) || 1 });
    const all: Array<Task | string> = [...refused, ...campaigns.map((c) => c.campaign_id)];
    const page = all.slice(offset, Math.min(offset + LIST_PAGE, MAX_LISTED));
    const tasks: Task[] = [];
    for (const entry of page) {
      if (typeof entry !== 'string') tasks.push({ ...entry });
      else {
        // list_campaigns' rows carry no updated_at or error: read each campaign of the page.
        const view = await campaignView(entry).catch(() => undefined);
        if (view) tasks.push(campaignTask(view));
      }
    }
    const next = offset + LIST_PAGE;
    return { tasks, ...(all.length > next && next < MAX_LISTED && { nextCursor: Buffer.from(`o${next}`).toString('base64url') }) };
  });

  protocol.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    assertTasksEra('tasks/cancel');
    const refused = refusal(taskId, ctx.sessionId);
    const current = refused?.task ?? campaignTask(await campaignView(taskId));
    if (TERMINAL.has(current.status)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Cannot cancel task: already in terminal status '${current.status}'`);
    }
    // Audited as control_campaign is: the attempt, then its outcome.
    const audit = (error: string | null) =>
      services.audit
        .record({
          tool: 'control_campaign',
          args: { campaign_id: taskId, action: 'cancel', via: 'tasks/cancel' },
          resultSid: null,
          error,
          client: protocol.getClientVersion()?.name ?? null,
          sessionId: ctx.sessionId ?? null,
        })
        .catch((e: unknown) => log.error(`audit log write failed: ${e instanceof Error ? e.message : String(e)}`));
    let view: CampaignView;
    try {
      view = (await services.campaigns.control({ campaign_id: taskId, action: 'cancel' })) as CampaignView;
    } catch (error) {
      await audit(error instanceof Error ? error.message : String(error));
      if (error instanceof ToolFailure) throw notFound(taskId);
      throw error;
    }
    await audit(null);
    const task = campaignTask(view);
    // It completed between the look and the cancel: terminal, and not cancelled.
    if (task.status !== 'cancelled') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Cannot cancel task: already in terminal status '${task.status}'`);
    return task;
  });

  protocol.registerCapabilities({ tasks: CAMPAIGN_TASKS_CAPABILITY });
  startCampaign.execution = { taskSupport: 'optional' };
  return true;
}
