/** The services a tool handler may call: one object per product area. */
import type { MessagingService } from './messaging.js';
import type { ServerStatusService } from './server-status.js';

export interface Services {
  messaging: MessagingService;
  status: ServerStatusService;
}
