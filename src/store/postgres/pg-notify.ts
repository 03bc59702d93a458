/**
 * Messages between the server instances that share one PostgreSQL database, over
 * LISTEN/NOTIFY: a reply that instance B received wakes a wait_for_reply on instance A, a
 * status callback to B updates A's resource subscribers, a caller's turn on B's relay socket
 * reaches A's wait_for_caller.
 *
 * NOTIFY is not a queue: a notification sent while an instance's listening connection is
 * down is lost for it. What matters is on disk before anything is notified (the store
 * commits first), so after a reconnect every `onResync` listener is told to look at the
 * store again instead of trusting that it heard everything.
 *
 * Payloads are JSON `{ from, topic, payload }`, under PostgreSQL's 8000-byte limit; an
 * instance ignores its own notifications (it has already delivered them locally).
 */
import pg from 'pg';
import { log } from '../../util/log.js';
import { describeDatabase } from './pool.js';

export const DEFAULT_NOTIFY_CHANNEL = 'mcp_server_twilio';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;

export interface ClusterChannel {
  readonly instanceId: string;
  /** Tells every other instance; resolves once PostgreSQL has taken the notification. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Notifications of `topic` from the other instances. */
  subscribe(topic: string, listener: (payload: unknown, from: string) => void): () => void;
  /** Called after the listening connection came back: notifications may have been missed. */
  onResync(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface PgNotifyOptions {
  instanceId: string;
  /** The LISTEN channel (default mcp_server_twilio); tests use their own. */
  channel?: string;
  /** First wait before reconnecting the listener; doubles up to 30 s. */
  reconnectMs?: number;
}

export async function openPgNotify(url: string, pool: pg.Pool, options: PgNotifyOptions): Promise<ClusterChannel> {
  const channel = options.channel ?? DEFAULT_NOTIFY_CHANNEL;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`notify channel "${channel}" must be a lower-case SQL identifier`);
  const listeners = new Map<string, Set<(payload: unknown, from: string) => void>>();
  const resyncListeners = new Set<() => void>();
  const where = describeDatabase(url);
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = options.reconnectMs ?? 500;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const deliver = (message: pg.Notification) => {
    if (message.channel !== channel || !message.payload) return;
    let parsed: { from?: unknown; topic?: unknown; payload?: unknown };
    try {
      parsed = JSON.parse(message.payload) as typeof parsed;
    } catch {
      log.warn(`PostgreSQL notification on ${channel} that is not JSON was ignored`);
      return;
    }
    if (typeof parsed.from !== 'string' || typeof parsed.topic !== 'string' || parsed.from === options.instanceId) return;
    for (const listener of listeners.get(parsed.topic) ?? []) {
      try {
        listener(parsed.payload, parsed.from);
      } catch (error) {
        log.error(`cluster listener for ${parsed.topic} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'mcp-server-twilio (listen)' });
    next.on('notification', deliver);
    next.on('error', (error) => {
      if (closed) return;
      log.warn(`PostgreSQL (${where}): the connection that listens for other instances failed (${error.message}); reconnecting.`);
      dropped(next);
    });
    next.on('end', () => {
      if (!closed) dropped(next);
    });
    await next.connect();
    await next.query(`LISTEN ${channel}`);
    client = next;
  };

  /** The listening connection is gone (once per connection, whichever of error/end came first). */
  const dropped = (failed: pg.Client) => {
    if (client !== failed) return;
    client = undefined;
    void failed.end().catch(() => {});
    reconnectLater();
  };

  const reconnectLater = () => {
    if (reconnectTimer || closed) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().then(
        () => {
          retryMs = options.reconnectMs ?? 500;
          log.info(`PostgreSQL (${where}): listening for other instances again.`);
          for (const listener of resyncListeners) listener();
        },
        (error: Error) => {
          log.warn(`PostgreSQL (${where}): could not listen for other instances (${error.message}); retrying in ${Math.round(retryMs / 1000)} s.`);
          retryMs = Math.min(retryMs * 2, 30_000);
          reconnectLater();
        },
      );
    }, retryMs);
    reconnectTimer.unref();
  };

  await connect();

  return {
    instanceId: options.instanceId,
    async publish(topic, payload) {
      const text = JSON.stringify({ from: options.instanceId, topic, payload });
      if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new Error(`cluster notification "${topic}" is ${Buffer.byteLength(text)} bytes; PostgreSQL takes under 8000`);
      await pool.query('SELECT pg_notify($1, $2)', [channel, text]);
    },
    subscribe(topic, listener) {
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      set.add(listener);
      return () => set!.delete(listener);
    },
    onResync(listener) {
      resyncListeners.add(listener);
      return () => resyncListeners.delete(listener);
    },
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
