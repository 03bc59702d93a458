/**
 * In-process notifications from the webhook receiver (and, for `activity`, the tool layer)
 * to whoever waits: wait_for_reply, resource-update notifications, the dashboard's live
 * stream. Events are already on disk when published.
 */
import { EventEmitter } from 'node:events';
import { log } from '../util/log.js';

export interface InboundMessageEvent {
  kind: 'inbound_message';
  messageSid: string;
  from: string;
  to: string;
}

export interface StatusEvent {
  kind: 'message_status' | 'call_status';
  sid: string;
  status: string;
}

/**
 * After a lost connection to the other instances (see store/postgres/pg-notify.ts): events
 * may have been missed, so whoever waits looks at the store again.
 */
export interface ResyncEvent {
  kind: 'resync';
}

/** A tool call with a side effect finished and its audit row is written: a send, a refusal, a change. */
export interface ActivityEvent {
  kind: 'activity';
  tool: string;
  failed: boolean;
}

export type TwilioEvent = InboundMessageEvent | StatusEvent | ResyncEvent | ActivityEvent;

/** The part of a cluster channel (pg-notify.ts) the hub needs: events go out and come in. */
export interface EventBridge {
  publish(topic: string, payload: unknown): Promise<void>;
  subscribe(topic: string, listener: (payload: unknown, from: string) => void): () => void;
  onResync(listener: () => void): () => void;
}

const TOPIC = 'twilio_event';

function isTwilioEvent(value: unknown): value is InboundMessageEvent | StatusEvent {
  if (!value || typeof value !== 'object') return false;
  const e = value as { kind?: unknown; messageSid?: unknown; from?: unknown; to?: unknown; sid?: unknown; status?: unknown };
  if (e.kind === 'inbound_message') return typeof e.messageSid === 'string' && typeof e.from === 'string' && typeof e.to === 'string';
  return (e.kind === 'message_status' || e.kind === 'call_status') && typeof e.sid === 'string' && typeof e.status === 'string';
}

export class EventHub {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many concurrent wait_for_reply calls are normal; they all unsubscribe when done.
    this.emitter.setMaxListeners(0);
  }

  private bridged: EventBridge | undefined;

  /** Emits to this process's listeners and, when bridged, to the other instances'. */
  publish(event: TwilioEvent): void {
    this.emitter.emit('event', event);
    // Only what the store holds crosses instances: resync is local, activity feeds this instance's dashboard.
    if (this.bridged && (event.kind === 'inbound_message' || event.kind === 'message_status' || event.kind === 'call_status')) {
      // On disk already (the receiver commits first): a lost notification delays, never loses.
      this.bridged.publish(TOPIC, event).catch((error: Error) => log.warn(`could not tell the other instances about ${event.kind}: ${error.message}`));
    }
  }

  /**
   * Joins the hubs of every instance on one database: what this instance publishes goes to
   * the others, and what they publish is emitted here (once: a hub ignores its own). After a
   * reconnect, a `resync` event tells listeners to look at the store again.
   */
  bridge(bridge: EventBridge): () => void {
    this.bridged = bridge;
    const off = bridge.subscribe(TOPIC, (payload) => {
      if (isTwilioEvent(payload)) this.emitter.emit('event', payload);
    });
    const offResync = bridge.onResync(() => this.emitter.emit('event', { kind: 'resync' } satisfies ResyncEvent));
    return () => {
      off();
      offResync();
      if (this.bridged === bridge) this.bridged = undefined;
    };
  }

  subscribe(listener: (event: TwilioEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
