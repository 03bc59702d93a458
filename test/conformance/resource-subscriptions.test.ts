/**
 * enableResourceSubscriptions in process, on each path a change can take to a client:
 * a 2025-era connection (resources/subscribe), a 2026-07-28 long-lived connection
 * (serveStdio: subscriptions/listen served by the entry), and 2026-07-28 HTTP
 * (createMcpHandler: the entry's event bus, fed by forwardResourceUpdates).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, InMemoryServerEventBus, InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { enableResourceSubscriptions, forwardResourceUpdates, type SubscriptionSource } from '../../src/server/resource-subscriptions.js';

const WATCHED = 'test://a';
const OTHER = 'test://b';
const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

/** A source the test fires by hand, counting who watches it. */
function manualSource() {
  const listeners = new Set<(uri: string) => void>();
  const source: SubscriptionSource = {
    watch(onChanged) {
      listeners.add(onChanged);
      return () => listeners.delete(onChanged);
    },
  };
  return { source, fire: (uri: string) => listeners.forEach((l) => l(uri)), watchers: () => listeners.size };
}

function newServer(): McpServer {
  const server = new McpServer({ name: 'subs', version: '1.0.0' }, { capabilities: {} });
  for (const uri of [WATCHED, OTHER]) {
    server.registerResource(uri, uri, { mimeType: 'text/plain' }, async (u) => ({ contents: [{ uri: u.href, text: 'x' }] }));
  }
  return server;
}

/** Collects notifications/resources/updated URIs a client receives. */
function collectUpdates(client: Client): string[] {
  const uris: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => void uris.push(n.params.uri));
  return uris;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

describe('resource subscriptions, 2025-era connection', () => {
  async function connectLegacy(server: McpServer) {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'legacy', version: '1.0.0' });
    await client.connect(clientSide);
    closers.push(() => client.close());
    return client;
  }

  it('declares the capability and delivers only subscribed URIs, until unsubscribe', async () => {
    const server = newServer();
    const changes = manualSource();
    const subscriptions = enableResourceSubscriptions(server, changes.source);
    const client = await connectLegacy(server);
    const updates = collectUpdates(client);
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });

    // Nobody listens yet: the source is not even watched, and nothing is sent.
    expect(changes.watchers()).toBe(0);
    await subscriptions.notifyUpdated(WATCHED);

    await client.subscribeResource({ uri: WATCHED });
    expect(subscriptions.isSubscribed(WATCHED)).toBe(true);
    expect(subscriptions.isSubscribed(OTHER)).toBe(false);
    expect(subscriptions.subscribedUris()).toEqual([WATCHED]);
    expect(changes.watchers()).toBe(1);
    changes.fire(WATCHED);
    changes.fire(OTHER);
    await subscriptions.notifyUpdated(WATCHED);
    await settle();
    expect(updates).toEqual([WATCHED, WATCHED]);

    await client.unsubscribeResource({ uri: WATCHED });
    expect(subscriptions.isSubscribed(WATCHED)).toBe(false);
    expect(changes.watchers()).toBe(0);
    await subscriptions.notifyUpdated(WATCHED);
    await settle();
    expect(updates).toEqual([WATCHED, WATCHED]);
  });

  it('stops watching when the connection closes', async () => {
    const server = newServer();
    const changes = manualSource();
    enableResourceSubscriptions(server, changes.source);
    const client = await connectLegacy(server);
    await client.subscribeResource({ uri: WATCHED });
    expect(changes.watchers()).toBe(1);
    await client.close();
    await settle();
    expect(changes.watchers()).toBe(0);
  });

  it('shares one subscription set between callers on the same server', async () => {
    const server = newServer();
    const first = manualSource();
    const second = manualSource();
    const handle = enableResourceSubscriptions(server, first.source);
    expect(enableResourceSubscriptions(server, second.source)).toBe(handle);
    const client = await connectLegacy(server);
    const updates = collectUpdates(client);
    await client.subscribeResource({ uri: WATCHED });
    await client.subscribeResource({ uri: OTHER });
    expect([first.watchers(), second.watchers()]).toEqual([1, 1]);
    first.fire(WATCHED);
    second.fire(OTHER);
    await settle();
    expect(updates).toEqual([WATCHED, OTHER]);
  });

  it('keeps connections apart: one server instance per connection', async () => {
    const changes = manualSource();
    const a = newServer();
    const b = newServer();
    enableResourceSubscriptions(a, changes.source);
    enableResourceSubscriptions(b, changes.source);
    const clientA = await connectLegacy(a);
    const clientB = await connectLegacy(b);
    const updatesA = collectUpdates(clientA);
    const updatesB = collectUpdates(clientB);
    await clientA.subscribeResource({ uri: WATCHED });
    changes.fire(WATCHED);
    await settle();
    expect(updatesA).toEqual([WATCHED]);
    expect(updatesB).toEqual([]);
  });
});

describe('resource subscriptions, 2026-07-28', () => {
  it('long-lived connection (serveStdio): the listen stream gets the URIs it named', async () => {
    const changes = manualSource();
    let handle: ReturnType<typeof enableResourceSubscriptions> | undefined;
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const served = serveStdio(
      () => {
        const server = newServer();
        handle = enableResourceSubscriptions(server, changes.source);
        return server;
      },
      { transport: serverSide },
    );
    closers.push(() => served.close());
    const client = new Client({ name: 'modern', version: '1.0.0' }, MODERN);
    await client.connect(clientSide);
    closers.push(() => client.close());
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const updates = collectUpdates(client);

    const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
    expect(subscription.honoredFilter).toEqual({ resourceSubscriptions: [WATCHED] });
    changes.fire(WATCHED);
    changes.fire(OTHER);
    await handle!.notifyUpdated(WATCHED);
    await settle();
    expect(updates).toEqual([WATCHED, WATCHED]);

    await subscription.close();
    changes.fire(WATCHED);
    await settle();
    expect(updates).toEqual([WATCHED, WATCHED]);
  });

  it('HTTP (createMcpHandler): forwardResourceUpdates feeds the entry bus; per-request instances never watch', async () => {
    const changes = manualSource();
    const bus = new InMemoryServerEventBus();
    const handler = createMcpHandler(
      () => {
        const server = newServer();
        enableResourceSubscriptions(server, changes.source);
        return server;
      },
      { bus, legacy: 'reject' },
    );
    closers.push(() => handler.close());
    const stopForwarding = forwardResourceUpdates(changes.source, bus);
    closers.push(async () => stopForwarding());
    const client = new Client({ name: 'modern-http', version: '1.0.0' }, MODERN);
    await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: (input, init) => handler.fetch(new Request(input, init)) }));
    closers.push(() => client.close());
    const updates = collectUpdates(client);

    const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
    closers.push(() => subscription.close());
    // Only the forwarder watches: no per-request instance attached itself.
    expect(changes.watchers()).toBe(1);
    changes.fire(WATCHED);
    changes.fire(OTHER);
    await settle();
    expect(updates).toEqual([WATCHED]);

    stopForwarding();
    expect(changes.watchers()).toBe(0);
  });
});
