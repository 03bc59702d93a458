/**
 * "Why can't it do X?" answered in one call: mode, account, senders, toolsets, every
 * hidden tool and why, and the safety settings in force. Secrets never appear; the
 * account SID is masked.
 *
 * Only the truth about capability: a toolset is "enabled" only when it lists at least one
 * tool in this server; a toolset that exists but lists nothing says why; and a toolset this
 * version has no tools for (voice, verify, …) is "not available in this version", even when
 * --toolsets asked for it, so an agent does not go looking for tools that are not there.
 */
import type { HiddenTool } from '../server/tool-selection.js';
import { TOOLSETS, type Toolset } from '../tools/define-tool.js';

/** A tool as the status sees it: which toolset it belongs to. */
export interface CatalogTool {
  name: string;
  toolset: string;
}

export interface StatusFacts {
  mode: 'live' | 'sandbox';
  accountSid: string;
  apiBaseUrl: string | undefined;
  defaultFrom: string | undefined;
  messagingServiceSid: string | undefined;
  whatsappFrom: string | undefined;
  readOnly: boolean;
  /** The toolsets asked for (--toolsets / TWILIO_MCP_TOOLSETS, or the default set). */
  toolsets: readonly string[];
  enabledTools: readonly string[];
  hiddenTools: readonly HiddenTool[];
  /** Every tool this build defines, listed or hidden (the composition root passes the tool list: services sit below tools). */
  catalog: readonly CatalogTool[];
}

/** Providers for parts owned by other components (policy, webhook receiver), filled in as they start. */
export interface StatusExtensions {
  policy?: () => Promise<Record<string, unknown>>;
  webhooks?: () => Record<string, unknown>;
  /** Where the store lives: SQLite's folder, or PostgreSQL with this instance and the other live ones. */
  store?: () => Promise<Record<string, unknown>>;
}

/** What each toolset would let an agent do, said plainly for the ones this version lacks. */
const CAPABILITY: Record<Toolset, string> = {
  messaging: 'send and read SMS, MMS and WhatsApp messages',
  inbox: 'replies, delivery receipts and opt-outs',
  voice: 'voice calls',
  verify: 'phone verification (2FA codes)',
  lookup: 'phone number lookups',
  numbers: 'buying and configuring phone numbers',
  conversations: 'Twilio Conversations',
  video: 'video rooms',
  insights: 'usage and insights',
  campaigns: 'bulk campaigns',
  server: 'this server\'s status, policy and audit log',
};

export interface ToolsetReport {
  /** Toolsets that list at least one tool in this server. */
  toolsets: string[];
  /** Toolsets this version has but that list no tool here, with why and how to change that. */
  toolsets_not_enabled: Array<{ name: string; reason: string }>;
  /** Toolsets (capabilities) this version does not have at all: no setting enables them. */
  not_available_in_this_version: Array<{ name: string; capability: string; requested: boolean }>;
}

/** Pure: which toolsets really list tools, which could, and which do not exist in this version. */
export function reportToolsets(facts: Pick<StatusFacts, 'toolsets' | 'enabledTools' | 'hiddenTools' | 'catalog'>): ToolsetReport {
  const catalog = facts.catalog;
  const listed = new Set(facts.enabledTools);
  const requested = new Set(facts.toolsets);
  const report: ToolsetReport = { toolsets: [], toolsets_not_enabled: [], not_available_in_this_version: [] };
  for (const toolset of TOOLSETS) {
    const tools = catalog.filter((tool) => tool.toolset === toolset).map((tool) => tool.name);
    if (tools.length === 0) {
      report.not_available_in_this_version.push({ name: toolset, capability: CAPABILITY[toolset], requested: requested.has(toolset) });
    } else if (tools.some((name) => listed.has(name))) {
      report.toolsets.push(toolset);
    } else if (!requested.has(toolset)) {
      report.toolsets_not_enabled.push({ name: toolset, reason: `not in --toolsets / TWILIO_MCP_TOOLSETS (add "${toolset}" to enable its ${tools.length} tools)` });
    } else {
      // Asked for, yet every tool hidden (read-only mode, sandbox-only tools on a live account).
      const reasons = [...new Set(facts.hiddenTools.filter((hidden) => tools.includes(hidden.name)).map((hidden) => hidden.reason))];
      report.toolsets_not_enabled.push({ name: toolset, reason: `every tool is hidden: ${reasons.join('; ') || 'none is listed'}` });
    }
  }
  return report;
}

export function maskSid(sid: string): string {
  return sid.length > 8 ? `${sid.slice(0, 4)}…${sid.slice(-4)}` : '…';
}

export class ServerStatusService {
  constructor(
    private readonly facts: StatusFacts,
    private readonly extensions: StatusExtensions = {},
  ) {}

  extend(extensions: StatusExtensions): void {
    Object.assign(this.extensions, extensions);
  }

  async getPolicy(): Promise<Record<string, unknown>> {
    return (await this.extensions.policy?.()) ?? { dry_run: false, note: 'No send policy configured.' };
  }

  async getStatus(): Promise<Record<string, unknown>> {
    const f = this.facts;
    const toolsets = reportToolsets(f);
    return {
      mode: f.mode,
      ...(f.mode === 'sandbox' && { sandbox_note: 'Embedded Twilio emulator: nothing reaches a real phone and nothing is billed.' }),
      ...(f.apiBaseUrl && { api_base_url: f.apiBaseUrl }),
      account_sid: maskSid(f.accountSid),
      default_senders: {
        sms: f.defaultFrom ?? null,
        messaging_service_sid: f.messagingServiceSid ?? null,
        whatsapp: f.whatsappFrom ?? null,
      },
      read_only: f.readOnly,
      toolsets: toolsets.toolsets,
      ...(toolsets.toolsets_not_enabled.length > 0 && { toolsets_not_enabled: toolsets.toolsets_not_enabled }),
      ...(toolsets.not_available_in_this_version.length > 0 && {
        not_available_in_this_version: toolsets.not_available_in_this_version,
        not_available_note: 'This version has no tools for these: no setting (--toolsets included) enables them here.',
      }),
      enabled_tools: f.enabledTools,
      hidden_tools: f.hiddenTools,
      policy: await this.getPolicy(),
      webhooks: this.extensions.webhooks?.() ?? { receiver: 'not running' },
      ...(this.extensions.store && { store: await this.extensions.store().catch((error: Error) => ({ error: `the store could not be read: ${error.message}` })) }),
    };
  }
}
