/**
 * Campaigns as tasks, in this process (the source, not dist/): the mappings a spawned test
 * does not reach cheaply — paused, a failed import, tasks/list pages and its cursor. The
 * client is the v2 one, which speaks 2025-11-25 over a classic transport and sends the task
 * methods with explicit result schemas.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appPerTest, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();
const TASKS = { toolsets: 'campaigns', capabilities: { tasks: { list: {}, cancel: {} } } };

const TaskSchema = z.object({ taskId: z.string(), status: z.string(), statusMessage: z.string().optional(), createdAt: z.string(), lastUpdatedAt: z.string(), ttl: z.number().nullable() }).loose();
const CreateTaskSchema = z.object({ task: TaskSchema }).loose();
const ListSchema = z.object({ tasks: z.array(TaskSchema), nextCursor: z.string().optional() }).loose();
const AnyResult = z.object({}).loose();

const getTask = (server: InProcessServer, taskId: string) => server.client.request({ method: 'tasks/get', params: { taskId } }, TaskSchema);
const listTasks = (server: InProcessServer, cursor?: string) => server.client.request({ method: 'tasks/list', params: cursor === undefined ? {} : { cursor } }, ListSchema);
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as { code?: number; message?: string });

describe('campaign tasks (in process)', () => {
  it('a paused campaign is still working, with a message that says so; cancelled after a resume, it is listed as cancelled', async () => {
    const server = await start({}, TASKS);
    const recipients = Array.from({ length: 20 }, (_, i) => ({ to: `+1415555${String(7000 + i)}` }));
    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'start_campaign', arguments: { name: 'pausable', template: 'Hi', recipients, rate_per_second: 2 }, task: {} } },
      CreateTaskSchema,
    );
    const taskId = created.task.taskId;
    await server.callTool('control_campaign', { campaign_id: taskId, action: 'pause' });
    const paused = await getTask(server, taskId);
    expect(paused).toMatchObject({ status: 'working', statusMessage: expect.stringMatching(/^Paused: \d+ of 20 done; control_campaign resumes it\.$/), ttl: null });
    await server.callTool('control_campaign', { campaign_id: taskId, action: 'resume' });
    const cancelled = await server.client.request({ method: 'tasks/cancel', params: { taskId } }, TaskSchema);
    expect(cancelled.status).toBe('cancelled');
    const listed = await listTasks(server);
    expect(listed.tasks.filter((t) => t.taskId.startsWith('CP')).map((t) => [t.taskId, t.status])).toEqual([[taskId, 'cancelled']]);
  });

  it('a recipient file that breaks mid-import: the call is a failed task, and the campaign it left is a failed task too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-tasks-'));
    const server = await start({ TWILIO_MCP_FILES_DIR: dir }, TASKS);
    const file = join(dir, 'broken.csv');
    // Broken after the rows the preview reads, so the import itself meets it.
    writeFileSync(file, 'to,name\n+14155557101,Ada\n+14155557103,Bea\n+14155557104,Cy\n+14155557105,Di\n+14155557102,"unterminated\n');
    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'start_campaign', arguments: { name: 'broken', template: 'Hi {{name}}', recipients_file: file, rate_per_second: 0 }, task: {} } },
      CreateTaskSchema,
    );
    expect(created.task.status).toBe('failed');
    const result = await server.client.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, AnyResult);
    expect(result).toMatchObject({ isError: true, _meta: { 'io.modelcontextprotocol/related-task': { taskId: created.task.taskId } } });
    const { tasks } = await listTasks(server);
    // The refusal of this connection, and the campaign the engine canceled with the reason.
    expect(tasks.map((t) => t.status)).toEqual(['failed', 'failed']);
    const campaign = tasks.find((t) => t.taskId.startsWith('CP'))!;
    expect(campaign.statusMessage).toMatch(/^Failed: /);
    const campaignResult = await server.client.request({ method: 'tasks/result', params: { taskId: campaign.taskId } }, AnyResult);
    expect(campaignResult).toMatchObject({ isError: true, structuredContent: { state: 'canceled', error: expect.any(String) } });
    expect(await rejection(server.client.request({ method: 'tasks/cancel', params: { taskId: campaign.taskId } }, TaskSchema))).toMatchObject({ code: -32602 });
    expect(await server.sandboxMessagesTo('+14155557101')).toBe(0);
  });

  it('tasks/list pages every campaign with an opaque cursor; a made-up cursor is -32602', async () => {
    const server = await start({}, TASKS);
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const started = await server.callTool('start_campaign', { name: `c${i}`, template: 'Hi', recipients: [{ to: `+1415555${String(7200 + i)}` }], rate_per_second: 0 });
      ids.push(started.json.campaign_id);
    }
    const first = await listTasks(server);
    expect(first.tasks).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listTasks(server, first.nextCursor);
    expect(second.nextCursor).toBeUndefined();
    // (Refusals of this process's earlier tests are listed too: they share no session id.)
    const listed = [...first.tasks, ...second.tasks].map((t) => t.taskId).filter((id) => id.startsWith('CP'));
    expect(new Set(listed)).toEqual(new Set(ids));
    expect(await rejection(listTasks(server, 'not-a-cursor'))).toMatchObject({ code: -32602 });
  });
});
