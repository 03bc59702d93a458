/**
 * Campaigns as MCP tasks (protocol revision 2025-11-25), through the BUILT server over stdio.
 * The v1 SDK client speaks that revision and has a task client (experimental.tasks), so it
 * plays the task-capable host; the v2 client plays a 2026-07-28 host, for which nothing
 * changes. The server runs against a sandbox started here, apart, which counts what each
 * recipient received: the counts are read from it, never from the server under test.
 */
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  McpError,
  TaskStatusNotificationSchema,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { pollUntil, SERVER_ENTRY, serverEnv, startHttpServer } from '../helpers/server-process.js';

const RELATED_TASK = 'io.modelcontextprotocol/related-task';
const TASKS_CAPABILITY = { tasks: { list: {}, cancel: {} } };

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

function env(extra: Record<string, string> = {}) {
  return serverEnv({
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '10000',
    TWILIO_MCP_MAX_MESSAGES_PER_DAY: '10000',
    TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '10000',
    ...extra,
  });
}

async function connectV1(capabilities: Record<string, unknown>, extraEnv: Record<string, string> = {}, setup?: (client: V1Client) => void) {
  const client = new V1Client({ name: 'tasks-e2e', version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(new V1StdioTransport({ command: process.execPath, args: [SERVER_ENTRY, '--toolsets', 'campaigns'], env: env(extraEnv), stderr: 'ignore' }));
  return client;
}

/** A block of numbers no other test uses (the sandbox counts per number). */
const numbers = (block: number, n: number) => Array.from({ length: n }, (_, i) => `+1415${block}${String(i).padStart(4, '0')}`);
const received = (tos: string[]) => tos.reduce((sum, to) => sum + (sandbox.messageCounts().get(to) ?? 0), 0);

/** tools/call with params.task: the v1 client sends the params as given. */
function startAsTask(client: V1Client, args: Record<string, unknown>, options: Parameters<V1Client['request']>[2] = {}) {
  return client.request({ method: 'tools/call', params: { name: 'start_campaign', arguments: args, task: { ttl: 60_000 } } }, CreateTaskResultSchema, options);
}

async function pollTask(client: V1Client, taskId: string, until: (task: Task) => boolean, timeoutMs = 20_000): Promise<Task> {
  return pollUntil(async () => {
    const task = await client.experimental.tasks.getTask(taskId);
    return until(task) ? task : undefined;
  }, timeoutMs, 200);
}

/** A tool result's structured content (callTool's type also admits the old `{ toolResult }` shape, which has none). */
const structured = (result: { structuredContent?: unknown } | { toolResult: unknown }) => ('structuredContent' in result ? result.structuredContent : undefined) as Record<string, any>;

describe('campaigns as tasks (2025-11-25)', () => {
  it('a task-capable client starts a campaign as a task, polls it to completed and reads the counts; each recipient got exactly one message', async () => {
    const client = await connectV1(TASKS_CAPABILITY);
    try {
      // Declared, and only for the one tool that implements it.
      expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
      const { tools } = await client.listTools();
      expect(tools.filter((t) => t.execution !== undefined).map((t) => [t.name, t.execution])).toEqual([['start_campaign', { taskSupport: 'optional' }]]);

      const people = numbers(601, 8);
      const recipients = [...people.map((to) => ({ to, variables: { name: to.slice(-2) } })), { to: people[0]!, variables: { name: 'again' } }, { to: 'not a number', variables: { name: '?' } }];
      const created = await startAsTask(client, { name: 'tasks', template: 'Hi {{name}}', recipients, rate_per_second: 0 });
      const taskId = created.task.taskId;
      expect(taskId).toMatch(/^CP[0-9a-f]{32}$/);
      expect(created.task).toMatchObject({ ttl: null, pollInterval: expect.any(Number), createdAt: expect.any(String), lastUpdatedAt: expect.any(String) });
      expect(['working', 'completed']).toContain(created.task.status);
      // start_campaign's own answer (preview, cost) rides along for the model.
      const immediate = JSON.parse(created._meta!['io.modelcontextprotocol/model-immediate-response'] as string);
      expect(immediate).toMatchObject({ campaign_id: taskId, preview: expect.any(Array), estimated_cost_usd: expect.any(Number) });

      const done = await pollTask(client, taskId, (t) => t.status !== 'working');
      expect(done.status).toBe('completed');
      expect(done.statusMessage).toMatch(/^Completed: 8 of 10 sent/);

      const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(result.isError).not.toBe(true);
      expect(structured(result)).toMatchObject({ campaign_id: taskId, state: 'completed', counts: { sent: 8, duplicate: 1, invalid: 1 } });
      expect(result._meta?.[RELATED_TASK]).toEqual({ taskId });
      // The task is the campaign: get_campaign says the same.
      const viaTool = await client.callTool({ name: 'get_campaign', arguments: { campaign_id: taskId } });
      expect(structured(viaTool).counts).toEqual(structured(result).counts);
      const { tasks } = await client.experimental.tasks.listTasks();
      expect(tasks).toContainEqual(expect.objectContaining({ taskId, status: 'completed' }));

      for (const to of people) expect(sandbox.messageCounts().get(to) ?? 0, to).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('tasks/result waits until the campaign is done; status and progress notifications follow it', async () => {
    const statuses: Array<{ taskId: string; status: string }> = [];
    const progress: Array<Record<string, unknown>> = [];
    const client = await connectV1(TASKS_CAPABILITY, {}, (c) => c.setNotificationHandler(TaskStatusNotificationSchema, (n) => void statuses.push(n.params)));
    try {
      const people = numbers(602, 4);
      const created = await startAsTask(client, { name: 'slowish', template: 'Hello', recipients: people.map((to) => ({ to })), rate_per_second: 2 }, { onprogress: (p) => void progress.push(p) });
      const taskId = created.task.taskId;
      expect(created.task.status).toBe('working');
      // Asked at once, answered only when the campaign is terminal.
      const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(structured(result)).toMatchObject({ state: 'completed', counts: { sent: 4 } });
      await pollUntil(async () => statuses.find((s) => s.taskId === taskId && s.status === 'completed'));
      expect(statuses.filter((s) => s.taskId === taskId).map((s) => s.status)).toEqual(['completed']);
      // The call's progress token stays valid for the task's life (at least one arrives).
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[0]).toMatchObject({ total: 4, _meta: { [RELATED_TASK]: { taskId } } });
      expect(received(people)).toBe(4);
    } finally {
      await client.close();
    }
  });

  it('tasks/cancel stops a slow campaign: cancelled, audited like control_campaign, and the sandbox count stops short of the total', async () => {
    const client = await connectV1(TASKS_CAPABILITY);
    try {
      const people = numbers(603, 30);
      // wait_seconds is the plain call's way to wait; a task answers at once instead.
      const created = await startAsTask(client, { name: 'slow', template: 'Tick', recipients: people.map((to) => ({ to })), rate_per_second: 1, wait_seconds: 20 });
      const taskId = created.task.taskId;
      expect(created.task.status).toBe('working');
      expect(received(people)).toBeLessThan(5);
      const working = await pollTask(client, taskId, (t) => /^[1-9]\d* of 30 done/.test(t.statusMessage ?? ''));
      expect(working.status).toBe('working');

      const cancelled = await client.experimental.tasks.cancelTask(taskId);
      expect(cancelled).toMatchObject({ taskId, status: 'cancelled', statusMessage: expect.stringMatching(/^Cancelled: \d+ of 30 sent/) });
      expect((await client.experimental.tasks.getTask(taskId)).status).toBe('cancelled');
      // Terminal: a second cancel is refused with -32602.
      const again = await client.experimental.tasks.cancelTask(taskId).then(() => undefined, (e: unknown) => e);
      expect(again).toBeInstanceOf(McpError);
      expect((again as McpError).code).toBe(-32602);

      // Sends in flight settle; after that nothing more leaves.
      const settled = await pollUntil(async () => {
        const got = structured(await client.callTool({ name: 'get_campaign', arguments: { campaign_id: taskId } }));
        return got.counts.sending || got.counts.outcome_unknown ? undefined : got;
      });
      expect(settled).toMatchObject({ state: 'canceled', counts: { canceled: expect.any(Number) } });
      const sent = settled.counts.sent ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 2500)); // at 1/s, two more would have gone
      expect(received(people)).toBe(sent);
      expect(sent).toBeLessThan(30);

      const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(structured(result)).toMatchObject({ state: 'canceled', counts: settled.counts });
      const audit = structured(await client.callTool({ name: 'get_audit_log', arguments: { tool: 'control_campaign', limit: 10 } }));
      expect(audit.entries).toContainEqual(expect.objectContaining({ tool: 'control_campaign', arguments: { campaign_id: taskId, action: 'cancel', via: 'tasks/cancel' }, error: null }));
    } finally {
      await client.close();
    }
  }, 60_000);

  it('the task outlives the connection and the process: a new server on the same data directory answers for it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-tasks-restart-'));
    const people = numbers(607, 6);
    const first = await connectV1(TASKS_CAPABILITY, { TWILIO_MCP_DATA_DIR: dataDir });
    let taskId: string;
    try {
      taskId = (await startAsTask(first, { name: 'durable', template: 'Hi', recipients: people.map((to) => ({ to })), rate_per_second: 2 })).task.taskId;
    } finally {
      await first.close(); // the server process ends with its stdin
    }
    const second = await connectV1(TASKS_CAPABILITY, { TWILIO_MCP_DATA_DIR: dataDir });
    try {
      const result = await second.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(structured(result)).toMatchObject({ campaign_id: taskId, state: 'completed', counts: { sent: 6 } });
      expect((await second.experimental.tasks.getTask(taskId)).status).toBe('completed');
      for (const to of people) expect(sandbox.messageCounts().get(to) ?? 0, to).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('a refusal before any campaign exists is a failed task whose result is the refusal; nothing is sent', async () => {
    const client = await connectV1(TASKS_CAPABILITY);
    try {
      const people = numbers(604, 3);
      const created = await startAsTask(client, { name: 'no template', recipients: people.map((to) => ({ to })), rate_per_second: 0 });
      expect(created.task).toMatchObject({ status: 'failed', statusMessage: expect.stringMatching(/needs a message template/) });
      const taskId = created.task.taskId;
      expect((await client.experimental.tasks.getTask(taskId)).status).toBe('failed');
      const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(result.isError).toBe(true);
      expect(JSON.parse((result.content[0] as { text: string }).text)).toMatchObject({ error: expect.stringMatching(/needs a message template/), next_step: expect.any(String) });
      expect(structured(await client.callTool({ name: 'list_campaigns', arguments: {} })).campaigns).toEqual([]);
      const unknown = await client.experimental.tasks.getTask('CP00000000000000000000000000000000').then(() => undefined, (e: unknown) => e);
      expect((unknown as McpError).code).toBe(-32602);
      expect(received(people)).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('under first_contact "confirm" a task call asks once, as a plain call does: declined is a failed task and nothing is sent, accepted is the campaign', async () => {
    const people = numbers(605, 2);
    let asked = 0;
    const connect = (action: 'accept' | 'decline') =>
      connectV1({ ...TASKS_CAPABILITY, elicitation: {} }, { TWILIO_MCP_FIRST_CONTACT: 'confirm' }, (c) =>
        c.setRequestHandler(ElicitRequestSchema, async () => {
          asked += 1;
          return action === 'accept' ? { action, content: { confirm: true } } : { action };
        }),
      );
    const args = { name: 'new people', template: 'Welcome', recipients: people.map((to) => ({ to })), rate_per_second: 0 };
    const declining = await connect('decline');
    try {
      const refused = await startAsTask(declining, args);
      expect(refused.task).toMatchObject({ status: 'failed', statusMessage: expect.stringMatching(/did not confirm/) });
      expect(asked).toBe(1);
      expect(received(people)).toBe(0);
    } finally {
      await declining.close();
    }
    const accepting = await connect('accept');
    try {
      const created = await startAsTask(accepting, args);
      expect(asked).toBe(2);
      const done = await pollTask(accepting, created.task.taskId, (t) => t.status !== 'working');
      expect(done.status).toBe('completed');
      expect(received(people)).toBe(2);
    } finally {
      await accepting.close();
    }
  });

  it.each([
    { mode: 'sessions', args: [] as string[], block: 608 },
    { mode: '--stateless', args: ['--stateless'], block: 609 },
  ])('over Streamable HTTP ($mode) the same task flow works, each request on its own if need be', async ({ args, block }) => {
    const server = await startHttpServer({ env: env(), args: ['--toolsets', 'campaigns', ...args] });
    const client = new V1Client({ name: 'tasks-e2e-http', version: '1.0.0' }, { capabilities: TASKS_CAPABILITY });
    try {
      await client.connect(new V1HttpTransport(new URL(server.url)));
      expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
      const people = numbers(block, 3);
      const created = await startAsTask(client, { name: 'http', template: 'Hi', recipients: people.map((to) => ({ to })), rate_per_second: 2 });
      expect(created.task.status).toBe('working');
      const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
      expect(structured(result)).toMatchObject({ state: 'completed', counts: { sent: 3 } });
      expect((await client.experimental.tasks.getTask(created.task.taskId)).status).toBe('completed');
      const refused = await startAsTask(client, { name: 'no template', recipients: [{ to: people[0]! }] });
      expect((await client.experimental.tasks.getTask(refused.task.taskId)).status).toBe('failed');
      const { tasks } = await client.experimental.tasks.listTasks();
      expect(tasks.map((t) => t.taskId)).toEqual(expect.arrayContaining([created.task.taskId, refused.task.taskId]));
      for (const to of people) expect(sandbox.messageCounts().get(to) ?? 0, to).toBe(1);
      if (args.length === 0) {
        // A refusal can quote the message and a number: another session does not see it.
        const other = new V1Client({ name: 'tasks-e2e-http-2', version: '1.0.0' }, { capabilities: TASKS_CAPABILITY });
        await other.connect(new V1HttpTransport(new URL(server.url)));
        try {
          expect(((await other.experimental.tasks.getTask(refused.task.taskId).catch((e: unknown) => e)) as McpError).code).toBe(-32602);
          expect((await other.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual(expect.arrayContaining([created.task.taskId]));
          expect((await other.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).not.toContain(refused.task.taskId);
        } finally {
          await other.close();
        }
      }
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('without the tasks capability, in a plain call, or on 2026-07-28, start_campaign answers as it always did', async () => {
    const withoutCapability = await connectV1({});
    try {
      const result = await withoutCapability.request(
        { method: 'tools/call', params: { name: 'start_campaign', arguments: { name: 'plain', template: 'Hi', recipients: [{ to: numbers(606, 1)[0]! }], rate_per_second: 0 }, task: { ttl: 60_000 } } },
        CallToolResultSchema,
      );
      expect(result).not.toHaveProperty('task');
      expect(structured(result).campaign_id).toMatch(/^CP/);
    } finally {
      await withoutCapability.close();
    }

    const capable = await connectV1(TASKS_CAPABILITY);
    try {
      const plain = await capable.callTool({ name: 'start_campaign', arguments: { name: 'plain', template: 'Hi', recipients: [{ to: numbers(606, 2)[1]! }], rate_per_second: 0 } });
      expect(plain).not.toHaveProperty('task');
      expect(structured(plain).campaign_id).toMatch(/^CP/);
      // A tool without execution.taskSupport is not run as a task.
      const other = await capable
        .request({ method: 'tools/call', params: { name: 'list_campaigns', arguments: {}, task: {} } }, CreateTaskResultSchema)
        .then(() => undefined, (e: unknown) => e);
      expect((other as McpError).code).toBe(-32601);
    } finally {
      await capable.close();
    }

    const modern = new Client({ name: 'tasks-e2e-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER_ENTRY, '--toolsets', 'campaigns'], env: env(), stderr: 'ignore' }));
    try {
      expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(modern.getServerCapabilities()).not.toHaveProperty('tasks');
      const { tools } = await modern.listTools();
      expect(tools.find((t) => t.name === 'start_campaign')).not.toHaveProperty('execution');
      const result = await modern.callTool({ name: 'start_campaign', arguments: { name: 'modern', template: 'Hi', recipients: [{ to: numbers(606, 3)[2]! }], rate_per_second: 0 } });
      expect(result.isError).not.toBe(true);
      expect(structured(result).campaign_id).toMatch(/^CP/);
    } finally {
      await modern.close();
    }
    await pollUntil(async () => (received(numbers(606, 3)) === 3 ? true : undefined));
  }, 60_000);
});
