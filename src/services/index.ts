/** The services a tool handler may call: one object per product area. */
import type { MessagingService } from './messaging.js';

export interface Services {
  messaging: MessagingService;
}
