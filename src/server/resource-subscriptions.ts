/**
 * resources/subscribe and resources/unsubscribe, which McpServer does not handle itself:
 * remembers the URIs this session subscribed to and sends notifications/resources/updated
 * for them. One instance per McpServer (per session). The event source is attached only
 * while something is subscribed, so per-request server instances cost nothing.
 *
 * 2026-07-28 clients subscribe with subscriptions/listen instead, which the SDK's entry
 * points serve from their own event bus; this module covers 2025-era sessions.
 */
import type { McpServer } from '@modelcontextprotocol/server';

export interface SubscriptionSource {
  /** Starts delivering changed URIs; returns the function that stops it. */
  watch(onChanged: (uri: string) => void): () => void;
}

export function enableResourceSubscriptions(server: McpServer, source: SubscriptionSource): void {
  const subscribed = new Set<string>();
  let stopWatching: (() => void) | undefined;

  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    subscribed.add(request.params.uri);
    stopWatching ??= source.watch((uri) => {
      if (subscribed.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => {});
    });
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    subscribed.delete(request.params.uri);
    if (subscribed.size === 0 && stopWatching) {
      stopWatching();
      stopWatching = undefined;
    }
    return {};
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    stopWatching?.();
    stopWatching = undefined;
    previousOnClose?.();
  };
}
