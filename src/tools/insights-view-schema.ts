/**
 * What show_insights returns: one zod schema, the tool's outputSchema on the server and the
 * parser of the result in its MCP Apps view (web/insights-app/), so the two cannot drift.
 * Imports nothing but zod: the view's bundle takes this file as it is.
 */
import { z } from 'zod';

const Tally = z.object({ sent: z.number(), delivered: z.number(), failed: z.number() });

/** The period a figure covers (get_messaging_insights and show_insights alike). */
export const InsightsWindow = z.object({ label: z.string(), start: z.string(), end: z.string() });

/** The delivery figures both insights tools report, in this order. */
export const DELIVERY_FIGURES = {
  sent: z.number(),
  delivered: z.number(),
  failed: z.number(),
  undelivered: z.number(),
  pending: z.number(),
  delivery_rate: z.number().nullable(),
  median_seconds_to_delivered: z.number().nullable(),
};

export const TopErrors = z.array(z.object({ error_code: z.number(), count: z.number(), meaning: z.string().nullable(), next_step: z.string().nullable() }));

export const InsightsViewSchema = z.object({
  window: InsightsWindow,
  delivery: z.object({
    ...DELIVERY_FIGURES,
    estimated_cost_usd: z.number(),
    replies_received: z.number(),
    opt_outs_gained: z.number(),
    top_errors: TopErrors,
    by_country: z.record(z.string(), Tally),
  }),
  campaigns: z
    .array(
      z.object({
        campaign_id: z.string(),
        name: z.string(),
        state: z.string(),
        channel: z.string(),
        recipients: z.number(),
        done: z.number().describe('Recipients no longer waiting or sending'),
        counts: z.record(z.string(), z.number()),
        delivery: z.record(z.string(), z.number()),
        error: z.string().optional(),
        updated_at: z.string(),
      }),
    )
    .describe('Running and paused campaigns and those that changed in the window, newest first, at most 5'),
});

export type InsightsView = z.infer<typeof InsightsViewSchema>;
