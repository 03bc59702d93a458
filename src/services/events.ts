/**
 * In-process notifications from the webhook receiver (and, for `activity`, the tool layer)
 * to whoever waits: wait_for_reply, resource-update notifications, the dashboard's live
 * stream. Events are already on disk when published.
 */
import { EventEmitter } from 'node:events';

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

/** A tool call with a side effect finished and its audit row is written: a send, a refusal, a change. */
export interface ActivityEvent {
  kind: 'activity';
  tool: string;
  failed: boolean;
}

export type TwilioEvent = InboundMessageEvent | StatusEvent | ActivityEvent;

export class EventHub {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many concurrent wait_for_reply calls are normal; they all unsubscribe when done.
    this.emitter.setMaxListeners(0);
  }

  publish(event: TwilioEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: TwilioEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
