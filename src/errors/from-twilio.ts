/**
 * Turns whatever the Twilio SDK or the network threw into a ToolFailure.
 * The only place that knows the shapes of RestException and of network errors.
 */
import { ToolFailure } from './tool-failure.js';
import { OutcomeUnknownError, RetryLaterError, TwilioUnreachableError } from '../gateway/resilient-request-client.js';

interface RestExceptionLike {
  status: number;
  code?: number;
  message: string;
  moreInfo?: string;
}

function isRestException(error: unknown): error is RestExceptionLike {
  const e = error as Partial<RestExceptionLike>;
  return typeof e?.status === 'number' && typeof e?.message === 'string';
}

export function toToolFailure(error: unknown): ToolFailure {
  if (error instanceof ToolFailure) return error;
  if (error instanceof OutcomeUnknownError) {
    return new ToolFailure({
      message: `${error.message} Do not retry blindly: that could send twice.`,
      outcomeUnknown: true,
      nextStep: 'Check whether it happened before trying again (list recent items for the same recipient).',
    });
  }
  if (error instanceof TwilioUnreachableError) {
    return new ToolFailure({
      message: error.message,
      nextStep: 'Nothing was sent. Check the network (or TWILIO_REGION/TWILIO_EDGE) and try again in a minute.',
      // The connection never carried the request: safe to retry (the campaign engine does).
      extra: { not_sent: true },
    });
  }
  if (error instanceof RetryLaterError) {
    const seconds = Math.round(error.retryAfterSeconds * 1000) / 1000;
    return new ToolFailure({
      message: `Twilio refused the request: ${error.message}`,
      twilioCode: error.code,
      httpStatus: error.status,
      nextStep: `Nothing was sent. Twilio asked to wait ${seconds} s (Retry-After) before trying again.`,
      extra: { retry_after_seconds: seconds },
    });
  }
  if (isRestException(error)) {
    return new ToolFailure({
      message: `Twilio refused the request: ${error.message}`,
      twilioCode: typeof error.code === 'number' ? error.code : undefined,
      httpStatus: error.status,
      nextStep:
        error.status >= 500 ? 'Twilio had an internal error; try again in a minute.' : undefined,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ToolFailure({ message: `Unexpected error talking to Twilio: ${message}`, nextStep: 'Try again; if it persists, report it with this message.' });
}
