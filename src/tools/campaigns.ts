/**
 * Campaigns toolset: personalised bulk sends, rate-limited and crash-safe, every recipient
 * through the send guards; and opt-out lists in and out of a CRM.
 */
import { z } from 'zod';
import { messagingServiceSid, phoneAddress } from '../domain/phone-address.js';
import { defineTool } from './define-tool.js';

const Counts = z.record(z.string(), z.number()).describe('Recipients per state: pending, held (quiet hours), sending, sent, skipped_opt_out, skipped_policy, invalid, duplicate, failed_send, …');
const CampaignSchema = z.object({
  campaign_id: z.string(),
  name: z.string(),
  state: z.string(),
  channel: z.string(),
  counts: Counts,
  delivery: z.record(z.string(), z.number()).describe('Of the sent: delivery status from callbacks'),
  error: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
const Problems = z.array(z.object({ row: z.number(), to: z.string(), state: z.string(), reason: z.string() })).describe('Rows not sent as given (first 20)');
const CampaignView = CampaignSchema.extend({
  errors: z.array(z.object({ code: z.number().nullable(), count: z.number(), meaning: z.string(), next_step: z.string().optional() })),
  throughput: z.object({ messages_per_second: z.number(), last_minute: z.number() }),
  cost: z.object({ spent_usd: z.number(), remaining_estimate_usd: z.number().optional(), source: z.string() }),
  replies: z.number().describe('Replies from recipients after their message'),
  opt_outs: z.number().describe('Recipients who opted out after their message'),
});
export const campaignId = z.string().regex(/^CP[0-9a-f]{32}$/, 'a campaign id: "CP" followed by 32 hex characters');

const startCampaign = defineTool({
  name: 'start_campaign',
  title: 'Start a bulk campaign',
  description:
    'Send one templated message ({{variable}} placeholders) to many people: billed per message and irreversible once sent. ' +
    'Every row is checked first (numbers, duplicates, missing variables); each send passes every guard; quiet hours hold people, never skip them. Returns at once with counts, cost and a preview.',
  kind: 'send',
  toolset: 'campaigns',
  input: z.object({
    name: z.string().min(1).max(100),
    channel: z.enum(['sms', 'whatsapp']).default('sms'),
    template: z.string().min(1).max(1600).optional().describe('e.g. "Hi {{name}}, your table is at {{time}}"'),
    content_sid: z.string().regex(/^HX[0-9a-fA-F]{32}$/).optional().describe('WhatsApp template instead of template; each row\'s variables fill it'),
    recipients: z.array(z.object({ to: z.string().min(1).max(64), variables: z.record(z.string(), z.string()).optional() })).max(1000).optional(),
    recipients_file: z.string().min(1).max(1024).optional().describe('Local CSV (header row, a "to" column; other columns are variables) or JSON file'),
    from: phoneAddress('from').optional(),
    messaging_service_sid: messagingServiceSid().optional(),
    rate_per_second: z.number().min(0).max(10_000).optional().describe("Default: the sender's documented throughput"),
    wait_seconds: z.number().int().min(0).max(300).optional().describe('Wait this long, with progress notifications'),
    dry_run: z.boolean().optional().describe('Judge every row (numbers, opt-outs, policy) and price it; sends and stores nothing'),
  }),
  // A dry run has no campaign yet: the fields of a stored campaign are optional.
  output: CampaignView.partial({ campaign_id: true, delivery: true, created_at: true, updated_at: true, errors: true, throughput: true, cost: true, replies: true, opt_outs: true }).extend({
    dry_run: z.boolean().optional(),
    rows: z.number().optional(),
    would_send: z.number().optional(),
    refused_by_rule: z.record(z.string(), z.number()).optional(),
    campaign_cap: z.object({ limit: z.number(), set_by: z.string(), within: z.boolean() }).optional(),
    estimated_cost_usd: z.number(),
    problems: Problems,
    preview: z.array(z.object({ to: z.string(), body: z.string() })),
    next_step: z.string(),
  }),
  handle: (args, { services, progress, firstContactConfirmed }) => services.campaigns.start(args, progress, { confirmed: firstContactConfirmed }),
});

const getCampaign = defineTool({
  name: 'get_campaign',
  title: 'Campaign progress',
  description: "A campaign's counts per state, delivery, errors by code with their meaning, throughput, cost so far, and the replies and opt-outs it caused. Free.",
  kind: 'read',
  toolset: 'campaigns',
  input: z.object({ campaign_id: campaignId }),
  output: CampaignView,
  handle: (args, { services }) => services.campaigns.get(args.campaign_id),
});

const listCampaigns = defineTool({
  name: 'list_campaigns',
  title: 'List campaigns',
  description: 'Campaigns, newest first. Free.',
  kind: 'read',
  toolset: 'campaigns',
  input: z.object({ state: z.enum(['running', 'paused', 'canceled', 'completed']).optional(), limit: z.number().int().min(1).max(100).default(20) }),
  output: z.object({ campaigns: z.array(z.object({ campaign_id: z.string(), name: z.string(), state: z.string(), counts: z.record(z.string(), z.number()), created_at: z.string() })) }),
  handle: (args, { services }) => services.campaigns.list(args),
});

const controlCampaign = defineTool({
  name: 'control_campaign',
  title: 'Pause, resume or cancel a campaign',
  description: 'pause (nothing more is sent until resume), resume, or cancel (the rest is never sent).',
  kind: 'update',
  toolset: 'campaigns',
  input: z.object({ campaign_id: campaignId, action: z.enum(['pause', 'resume', 'cancel']) }),
  output: CampaignSchema,
  handle: (args, { services }) => services.campaigns.control(args),
});

const importOptOuts = defineTool({
  name: 'import_opt_outs',
  title: 'Import opt-outs (CSV)',
  description: "Add a CRM's opt-outs from a local CSV (a phone or to column; optional channel, reason). Audited.",
  kind: 'update',
  toolset: 'campaigns',
  input: z.object({ path: z.string().min(1).max(1024), channel: z.enum(['sms', 'voice', 'all']).optional().describe('When the file has none; default all') }),
  output: z.object({ added: z.number(), unchanged: z.number(), rejected: z.array(z.object({ row: z.number(), value: z.string(), reason: z.string() })), rows_read: z.number() }),
  handle: (args, { services }) => services.campaigns.importOptOuts(args),
});

const exportOptOuts = defineTool({
  name: 'export_opt_outs',
  title: 'Export opt-outs (CSV)',
  description: 'Write every opt-out to a local CSV (phone, channel, sender, source, keyword, since) for a CRM.',
  kind: 'update',
  toolset: 'campaigns',
  input: z.object({ path: z.string().min(1).max(1024) }),
  output: z.object({ path: z.string(), exported: z.number() }),
  handle: (args, { services }) => services.campaigns.exportOptOuts(args),
});

export const campaignsTools = [startCampaign, getCampaign, listCampaigns, controlCampaign, importOptOuts, exportOptOuts];
