/** Insights toolset: usage and spend, the balance, and what happened to the messages sent. */
import { z } from 'zod';
import { senderAddress } from '../domain/phone-address.js';
import { insightsOverview } from '../services/insights-overview.js';
import { campaignId } from './campaigns.js';
import { defineTool } from './define-tool.js';
import { DELIVERY_FIGURES, InsightsViewSchema, InsightsWindow, TopErrors } from './insights-view-schema.js';

const period = z.enum(['today', 'yesterday', 'this_month', 'last_month']).optional().describe('Default today (UTC); or give start/end');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD');
const Breakdown = z.record(z.string(), z.object({ sent: z.number(), delivered: z.number(), failed: z.number() }));

const getUsage = defineTool({
  name: 'get_usage',
  title: 'Usage and spend',
  description: "Twilio's usage records: count, usage and price per category (sms, calls, recordings, lookups, verify, … or all) over a period. Free.",
  kind: 'read',
  toolset: 'insights',
  input: z.object({ category: z.string().max(64).optional(), period, start: day.optional(), end: day.optional() }),
  output: z.object({
    period: z.string(),
    records: z.array(z.object({ category: z.string(), description: z.string(), count: z.number().nullable(), usage: z.number().nullable(), usage_unit: z.string().nullable(), price: z.number().nullable(), price_unit: z.string().nullable() })),
    total_price: z.number().optional(),
  }),
  handle: (args, { services }) => services.insights.usage(args),
});

const getBalance = defineTool({
  name: 'get_balance',
  title: 'Account balance',
  description: 'The account balance and currency. Free.',
  kind: 'read',
  toolset: 'insights',
  input: z.object({}),
  output: z.object({ balance: z.number(), currency: z.string() }),
  handle: (_args, { services }) => services.insights.balance(),
});

const getMessagingInsights = defineTool({
  name: 'get_messaging_insights',
  title: 'Messaging insights',
  description:
    'One answer to "how many did we send, did any fail, why?": sent, delivered, failed, delivery rate, time to delivery, top errors with fixes, by country and sender, opt-outs, replies. Free.',
  kind: 'read',
  toolset: 'insights',
  input: z.object({ period, start: day.optional(), end: day.optional(), from: senderAddress('from').optional().describe('Only this sender (number or MG…)') }),
  output: z.object({
    window: InsightsWindow,
    ...DELIVERY_FIGURES,
    top_errors: TopErrors,
    by_country: Breakdown,
    by_sender: Breakdown,
    opt_outs_gained: z.number(),
    replies_received: z.number(),
    estimated_cost_usd: z.number(),
    sources: z.object({ this_server: z.number(), account_message_list: z.number().nullable(), note: z.string() }),
  }),
  handle: (args, { services }) => services.insights.messaging(args),
});

const showInsights = defineTool({
  name: 'show_insights',
  title: 'Show delivery and campaigns',
  description:
    'For when a person wants to SEE how messages and campaigns are doing: delivery (sent, delivered, failed and why, by country) and campaign progress, shown as a panel in the chat where the client renders MCP Apps, as data elsewhere. Free.',
  kind: 'read',
  toolset: 'insights',
  view: 'insights',
  input: z.object({ period, start: day.optional(), end: day.optional(), campaign_id: campaignId.optional().describe('Only this campaign') }),
  output: InsightsViewSchema,
  handle: (args, { services }) => insightsOverview(services, args),
});

export const insightsTools = [getUsage, getBalance, getMessagingInsights, showInsights];
