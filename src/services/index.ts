/** The services a tool handler may call: one object per product area. */
import type { AuditService } from './audit.js';
import type { InboxService } from './inbox.js';
import type { IvrService } from './ivr.js';
import type { VoiceService } from './voice.js';
import type { VoiceSandboxService } from './voice-sandbox.js';
import type { VerifyService } from './verify.js';
import type { LookupService } from './lookup.js';
import type { NumbersService } from './numbers.js';
import type { SandboxDevicesService } from './sandbox-devices.js';
import type { RelayService } from './relay.js';
import type { ConversationsService } from './conversations.js';
import type { VideoService } from './video.js';
import type { InsightsService } from './insights.js';
import type { CampaignService } from './campaigns.js';
import type { MessagingService } from './messaging.js';
import type { ServerStatusService } from './server-status.js';
import type { WebhookSetupService } from './webhook-setup.js';

export interface Services {
  messaging: MessagingService;
  inbox: InboxService;
  webhooks: WebhookSetupService;
  status: ServerStatusService;
  audit: AuditService;
  voice: VoiceService;
  ivr: IvrService;
  voiceSandbox: VoiceSandboxService;
  verify: VerifyService;
  lookup: LookupService;
  numbers: NumbersService;
  sandboxDevices: SandboxDevicesService;
  relay: RelayService;
  conversations: ConversationsService;
  video: VideoService;
  insights: InsightsService;
  campaigns: CampaignService;
}
