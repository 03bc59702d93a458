/**
 * Who is asking, for the duration of one tool call: the tool, its arguments, the client and
 * the session. The server factory opens it around each handler; the send pipeline reads it
 * to write the audit intent inside the reserving transaction. AsyncLocalStorage, because the
 * request passes through tool, service and pipeline, and only the two ends care about it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CallContext {
  tool: string;
  args: Record<string, unknown>;
  clientName: string | null;
  sessionId: string | null;
  /** Set by the pipeline once the call's audit row is written (the server then writes none). */
  auditedSend?: boolean;
}

const storage = new AsyncLocalStorage<CallContext>();

export function runInCallContext<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}
