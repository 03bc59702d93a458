/**
 * "Why can't it do X?" answered in one call: mode, account, senders, toolsets, every
 * hidden tool and why, and the safety settings in force. Secrets never appear; the
 * account SID is masked.
 */
import type { HiddenTool } from '../server/tool-selection.js';

export interface StatusFacts {
  mode: 'live' | 'sandbox';
  accountSid: string;
  apiBaseUrl: string | undefined;
  defaultFrom: string | undefined;
  messagingServiceSid: string | undefined;
  whatsappFrom: string | undefined;
  readOnly: boolean;
  toolsets: readonly string[];
  enabledTools: readonly string[];
  hiddenTools: readonly HiddenTool[];
}

/** Providers for parts owned by other components (policy, webhook receiver), filled in as they start. */
export interface StatusExtensions {
  policy?: () => Promise<Record<string, unknown>>;
  webhooks?: () => Record<string, unknown>;
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
      toolsets: f.toolsets,
      enabled_tools: f.enabledTools,
      hidden_tools: f.hiddenTools,
      policy: await this.getPolicy(),
      webhooks: this.extensions.webhooks?.() ?? { receiver: 'not running' },
    };
  }
}
