/**
 * Resource subscriptions for an McpServer, which handles neither `resources/subscribe` nor
 * `resources/unsubscribe` itself (in either SDK line). Generic: nothing here knows which
 * resources exist; callers say which URIs changed, either by calling `notifyUpdated(uri)` or
 * by handing over a `SubscriptionSource` that is watched only while somebody listens.
 *
 * How a change reaches each kind of client:
 *
 * - 2025-era connection (stdio, or a sessionful Streamable HTTP session): the client sends
 *   `resources/subscribe {uri}`; this module remembers the URI for that connection and sends
 *   `notifications/resources/updated {uri}` when it changes, until `resources/unsubscribe`
 *   or the connection closes.
 * - 2026-07-28 over stdio (`serveStdio`): there is no `resources/subscribe` any more; the
 *   client opens `subscriptions/listen {notifications: {resourceSubscriptions: [uri…]}}`,
 *   which the ENTRY serves, not the McpServer. The entry rewrites every
 *   `notifications/resources/updated` the pinned instance sends onto the listen streams whose
 *   filter names that URI (and drops it otherwise). So on a modern long-lived connection
 *   this module forwards every change of its sources and lets the entry filter.
 * - 2026-07-28 over HTTP (`createMcpHandler`): each request gets a fresh instance that lives
 *   for that request only, and a listen stream is held by the handler, fed from its
 *   `ServerEventBus` (`handler.bus` / `handler.notify.resourceUpdated(uri)`, or the `bus`
 *   option). A per-request instance cannot reach it, so the changes must be published at
 *   the entry, once per process: `forwardResourceUpdates(source, handler.bus)`. The bus
 *   filters per listen stream, so publishing every change is correct.
 *
 * `--stateless` 2025-era HTTP has no channel back to the client between requests, so a
 * subscription there is accepted but can never be delivered.
 */
import { type McpServer, PerRequestHTTPServerTransport, type ServerEventBus, SUPPORTED_PROTOCOL_VERSIONS, type Transport } from '@modelcontextprotocol/server';

/** Something that knows when resources change; watched only while somebody listens. */
export interface SubscriptionSource {
  /** Starts delivering changed URIs; returns the function that stops it. */
  watch(onChanged: (uri: string) => void): () => void;
}

export interface ResourceSubscriptions {
  /**
   * Tells this connection's client that `uri` changed, if it asked to hear about it: on a
   * 2025-era connection only for URIs it subscribed to; on a 2026-07-28 stdio connection
   * always (the entry delivers it to the listen streams that name the URI). Never throws:
   * a client that went away is not the caller's problem.
   */
  notifyUpdated(uri: string): Promise<void>;
  /** Whether this connection subscribed to `uri` with `resources/subscribe` (2025-era clients). */
  isSubscribed(uri: string): boolean;
  /** The URIs subscribed with `resources/subscribe` on this connection. */
  subscribedUris(): string[];
}

interface SubscriptionState {
  handle: ResourceSubscriptions;
  addSource(source: SubscriptionSource): void;
}

const states = new WeakMap<McpServer, SubscriptionState>();

/** 2026-07-28 and later: the SDK lists only the 2025-era (and older) revisions as SUPPORTED_PROTOCOL_VERSIONS. */
function servesModernEra(server: McpServer): boolean {
  const version = server.server.getNegotiatedProtocolVersion();
  return version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

/**
 * Declares `resources: { subscribe: true }`, handles `resources/subscribe` and
 * `resources/unsubscribe` for this server instance (one instance = one connection), and
 * returns the handle that sends updates. Call it before the server is connected, as for any
 * registration. Calling it again on the same server returns the same handle and adds
 * `source`, so several parts of a server (the product's resources, test fixtures) can share
 * one subscription set.
 */
export function enableResourceSubscriptions(server: McpServer, source?: SubscriptionSource): ResourceSubscriptions {
  const existing = states.get(server);
  if (existing) {
    if (source) existing.addSource(source);
    return existing.handle;
  }

  const subscribed = new Set<string>();
  const sources: SubscriptionSource[] = source ? [source] : [];
  let stopWatching: Array<() => void> | undefined;
  // A 2026-07-28 connection that outlives one request (serveStdio): the entry filters.
  let modernConnection = false;

  const send = async (uri: string) => {
    try {
      await server.server.sendResourceUpdated({ uri });
    } catch {
      // Not connected any more, or closing: nothing to deliver to.
    }
  };
  const handle: ResourceSubscriptions = {
    notifyUpdated: async (uri) => {
      if (modernConnection || subscribed.has(uri)) await send(uri);
    },
    isSubscribed: (uri) => subscribed.has(uri),
    subscribedUris: () => [...subscribed],
  };
  const onChanged = (uri: string) => void handle.notifyUpdated(uri);
  // Sources are watched only while this connection can hear about changes.
  const startWatching = () => {
    stopWatching ??= sources.map((s) => s.watch(onChanged));
  };
  const stopAll = () => {
    const stops = stopWatching ?? [];
    stopWatching = undefined;
    for (const stop of stops) stop();
  };
  states.set(server, {
    handle,
    addSource: (added) => {
      sources.push(added);
      stopWatching?.push(added.watch(onChanged));
    },
  });

  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    subscribed.add(request.params.uri);
    startWatching();
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    subscribed.delete(request.params.uri);
    if (subscribed.size === 0 && !modernConnection) stopAll();
    return {};
  });

  // The era is known only once an entry connects the instance: serveStdio fixes it before
  // connect; a 2025-era connection learns it at initialize (and subscribes explicitly).
  const connect = server.server.connect.bind(server.server);
  server.server.connect = async (transport: Transport) => {
    await connect(transport);
    if (servesModernEra(server) && !(transport instanceof PerRequestHTTPServerTransport)) {
      modernConnection = true;
      startWatching();
    }
  };
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    subscribed.clear();
    modernConnection = false;
    stopAll();
    previousOnClose?.();
  };
  return handle;
}

/**
 * Publishes every change of `source` on a `createMcpHandler` event bus (its `bus` option, or
 * `handler.bus`), which delivers `notifications/resources/updated` to each open 2026-07-28
 * `subscriptions/listen` stream whose filter names the URI. Once per process and handler,
 * not per server instance. Returns the function that stops forwarding.
 */
export function forwardResourceUpdates(source: SubscriptionSource, bus: Pick<ServerEventBus, 'publish'>): () => void {
  return source.watch((uri) => bus.publish({ kind: 'resource_updated', uri }));
}
