/** Server toolset: always on, read-only, answers questions about this server itself. */
import { z } from 'zod';
import { defineTool } from './define-tool.js';

const getServerStatus = defineTool({
  name: 'get_server_status',
  title: 'Server status',
  description:
    'Explain this server: sandbox or live, account (masked), default senders, enabled toolsets, every hidden tool and why, policy and webhook settings. Call it first when a tool seems missing or a send is refused.',
  kind: 'read',
  toolset: 'server',
  input: z.object({}),
  output: z.object({
    mode: z.enum(['live', 'sandbox']),
    account_sid: z.string(),
    read_only: z.boolean(),
    toolsets: z.array(z.string()),
    enabled_tools: z.array(z.string()),
    hidden_tools: z.array(z.object({ name: z.string(), reason: z.string() })),
  }).passthrough(),
  handle: async (_args, { services }) => (await services.status.getStatus()) as never,
});

const getPolicy = defineTool({
  name: 'get_policy',
  title: 'Send policy',
  description: 'The send policy in force: allowed countries, allow/deny lists, caps and when they reset, quiet hours, duplicate window, dry-run, first-contact rule.',
  kind: 'read',
  toolset: 'server',
  input: z.object({}),
  output: z.object({ dry_run: z.boolean() }).passthrough(),
  handle: async (_args, { services }) => (await services.status.getPolicy()) as never,
});

const getAuditLog = defineTool({
  name: 'get_audit_log',
  title: 'Audit log',
  description: 'Tool calls that sent, changed or deleted something: time, tool, arguments (bodies redacted), resulting SID or error, client and session. Newest first.',
  kind: 'read',
  toolset: 'server',
  input: z.object({
    tool: z.string().max(64).optional().describe('Only calls of this tool'),
    since: z.string().optional().describe('ISO 8601 time'),
    limit: z.number().int().min(1).max(500).default(50),
  }),
  output: z.object({
    entries: z.array(
      z.object({
        at: z.string(),
        tool: z.string(),
        arguments: z.record(z.string(), z.unknown()),
        result_sid: z.string().nullable(),
        error: z.string().nullable(),
        client: z.string().nullable(),
        session_id: z.string().nullable(),
        outcome: z.enum(['in_flight', 'sent', 'released', 'outcome_unknown']).optional().describe('Sends: released = Twilio refused, nothing sent'),
      }),
    ),
  }),
  handle: (args, { services }) => services.audit.list(args),
});

export const serverTools = [getServerStatus, getPolicy, getAuditLog];
