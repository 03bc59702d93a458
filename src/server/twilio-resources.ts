/**
 * Resources: the inbox and the delivery state of a message or call, readable by URI and
 * subscribable, so a client hears about a reply or a receipt without polling.
 */
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import { ToolFailure } from '../errors/tool-failure.js';
import type { EventHub } from '../services/events.js';
import type { Services } from '../services/index.js';
import { enableResourceSubscriptions, type SubscriptionSource } from './resource-subscriptions.js';

export const INBOX_URI = 'twilio://inbox';
const json = (uri: URL, value: unknown) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] });

function failureText(error: unknown): string {
  return error instanceof ToolFailure ? JSON.stringify(error.toJSON()) : JSON.stringify({ error: 'could not read the resource' });
}

export function registerTwilioResources(server: McpServer, services: Services, events: EventHub): void {
  server.registerResource(
    'inbox',
    INBOX_URI,
    { title: 'Inbox', description: 'The 20 newest inbound messages (untrusted third-party text).', mimeType: 'application/json' },
    async (uri) => json(uri, await services.inbox.listInbound({ limit: 20 })),
  );
  server.registerResource(
    'message-status',
    new ResourceTemplate('twilio://messages/{sid}', { list: undefined }),
    { title: 'Message delivery status', description: 'Current status and callback history of a sent message.', mimeType: 'application/json' },
    async (uri, { sid }) => {
      try {
        return json(uri, await services.inbox.getDeliveryStatus(String(sid)));
      } catch (error) {
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: failureText(error) }] };
      }
    },
  );
  server.registerResource(
    'call-status',
    new ResourceTemplate('twilio://calls/{sid}', { list: undefined }),
    { title: 'Call status', description: 'Current status and callback history of a call.', mimeType: 'application/json' },
    async (uri, { sid }) => json(uri, (await services.inbox.getCallStatus(String(sid))) ?? { sid, note: 'No call status callback received for this call yet.' }),
  );

  server.registerResource(
    'policy',
    'twilio://policy',
    { title: 'Send policy', description: 'The send policy in force (same as get_policy).', mimeType: 'application/json' },
    async (uri) => json(uri, await services.status.getPolicy()),
  );

  enableResourceSubscriptions(server, twilioResourceChanges(events));
}

/** Which resource a store event changes: one mapping for every transport that forwards updates. */
export function twilioResourceChanges(events: EventHub): SubscriptionSource {
  return {
    watch: (onChanged) =>
      events.subscribe((event) => {
        // A resync (events from other instances may have been missed): the inbox may have changed.
        if (event.kind === 'inbound_message' || event.kind === 'resync') onChanged(INBOX_URI);
        else if (event.kind === 'message_status') onChanged(`twilio://messages/${event.sid}`);
        else if (event.kind === 'call_status') onChanged(`twilio://calls/${event.sid}`);
      }),
  };
}
