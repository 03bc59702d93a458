/** The JSON the server sends per panel (src/dashboard/panels.ts is the source of truth). */
export interface Window {
  label?: string;
  start: string;
  end: string;
}

export interface PanelError {
  error: string;
}

export interface Bucket {
  start: string;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  pending: number;
}

export interface DeliveryPanel {
  window: Window;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  pending: number;
  delivery_rate: number | null;
  median_seconds_to_delivered: number | null;
  estimated_cost_usd: number;
  timeline: { bucket_seconds: number; buckets: Bucket[]; source: string };
  sources: { this_server: number; account_message_list: number | null; note: string };
}

export interface BreakdownRow {
  key: string;
  sent: number;
  delivered: number;
  failed: number;
  failure_rate: number | null;
}

export interface FailuresPanel {
  window: Window;
  failed: number;
  top_errors: Array<{ error_code: number; count: number; meaning: string | null; next_step: string | null }>;
  by_country: BreakdownRow[];
  by_sender: BreakdownRow[];
}

export interface Campaign {
  campaign_id: string;
  name: string;
  state: 'running' | 'paused' | 'canceled' | 'completed';
  channel: string;
  counts: Record<string, number>;
  delivery: Record<string, number>;
  error?: string;
  created_at: string;
  total: number;
  done: number;
  throughput: { sent_last_minute: number; average_per_minute: number | null; paced_per_second: number; first_sent_at: string | null; last_sent_at: string | null };
  spent_usd: number;
  estimated_cost_usd: number;
  replies: number;
  opt_outs: number;
  errors: Array<{ error_code: number | null; count: number; meaning: string | null; example: string }>;
}

export interface CampaignsPanel {
  /** false: the buttons are off (read-only server, or no campaigns toolset). */
  controls: boolean;
  controls_note?: string;
  campaigns: Campaign[];
}

export interface InboundMessage {
  message_sid: string;
  from: string;
  to: string;
  body: string;
  channel: string;
  keyword: string | null;
  media: number;
  received_at: string;
  trust: string;
}

export interface InboxPanel {
  window: Window;
  notice: string;
  replies_received: number;
  opt_outs_gained: number;
  messages: InboundMessage[];
  opt_outs: Array<{ recipient: string; sender: string; channel: string; source: string; keyword: string | null; reason: string | null; since: string }>;
}

export interface DiagramNode {
  id: string;
  label: string;
  kind: 'step' | 'end';
  calls: number;
  depth: number;
}

export interface DiagramEdge {
  from: string;
  to: string;
  calls: number;
  share: number;
  digits: string[];
}

export interface IvrDiagram {
  flow: string;
  calls: number;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

export interface CallRow {
  call_sid: string;
  from: string;
  to: string;
  direction: string;
  status: string;
  duration_seconds: number | null;
  start_time: string | null;
  answered_by: string | null;
  ivr_flow: string | null;
  ivr_steps: Array<string | null>;
  conversation: { purpose: string; outcome: string | null; transcript: Array<{ at: string; speaker: string; kind: string; text: string }>; trust: string } | null;
}

export type CallsPanel =
  | { enabled: false; note: string }
  | {
      enabled: true;
      note: string;
      total: number;
      outcomes: Record<string, number>;
      durations: { answered: number; total_seconds: number; median_seconds: number | null };
      calls: CallRow[];
      ivr_flows: IvrDiagram[];
    };

export interface Cap {
  used: number | null;
  limit: number;
  share: number | null;
  resets_at: string | null;
}

export interface GuardrailsPanel {
  dry_run: boolean;
  caps?: { messages_this_hour?: Cap; messages_today?: Cap; calls_today?: Cap; spend_today_usd?: Cap; windows: string };
  refusals: { window: Window; failed_calls: number; by_rule: Array<{ rule: string; count: number; latest_at: string; example: string }> };
  campaign_skips: { opt_out: number; policy: number };
  rules: Record<string, unknown>;
}

export interface Panels {
  delivery?: DeliveryPanel | PanelError;
  failures?: FailuresPanel | PanelError;
  campaigns?: CampaignsPanel | PanelError;
  inbox?: InboxPanel | PanelError;
  calls?: CallsPanel | PanelError;
  guardrails?: GuardrailsPanel | PanelError;
}

export const isError = (p: unknown): p is PanelError => typeof p === 'object' && p !== null && 'error' in p && typeof (p as PanelError).error === 'string';
