/** The services a tool handler may call: one object per product area. */
import type { AuditService } from './audit.js';
import type { InboxService } from './inbox.js';
import type { MessagingService } from './messaging.js';
import type { ServerStatusService } from './server-status.js';
import type { WebhookSetupService } from './webhook-setup.js';

export interface Services {
  messaging: MessagingService;
  inbox: InboxService;
  webhooks: WebhookSetupService;
  status: ServerStatusService;
  audit: AuditService;
}
