/**
 * A failure the agent should read: what went wrong, the Twilio code and its meaning,
 * what to do next. Services throw it; the tool layer turns it into an `isError` result.
 */
import { explainTwilioError, moreInfoUrl } from './twilio-error-catalog.js';

export interface FailureDetails {
  /** What went wrong, in one sentence. */
  message: string;
  /** Twilio's numeric error code, when Twilio (or the local check that mirrors it) gave one. */
  twilioCode?: number;
  /** HTTP status from Twilio, when there was a response. */
  httpStatus?: number;
  /** What the agent should do next; defaults to the catalog's advice for `twilioCode`. */
  nextStep?: string;
  /** The request may have reached Twilio: do not retry blindly. */
  outcomeUnknown?: boolean;
  /** Extra machine-readable facts (e.g. the earlier message SID). */
  extra?: Record<string, unknown>;
}

export class ToolFailure extends Error {
  readonly twilioCode: number | undefined;
  readonly httpStatus: number | undefined;
  readonly meaning: string | undefined;
  readonly nextStep: string;
  readonly moreInfo: string | undefined;
  readonly outcomeUnknown: boolean;
  readonly extra: Record<string, unknown> | undefined;

  constructor(details: FailureDetails) {
    super(details.message);
    this.name = 'ToolFailure';
    const explained = details.twilioCode !== undefined ? explainTwilioError(details.twilioCode) : undefined;
    this.twilioCode = details.twilioCode;
    this.httpStatus = details.httpStatus;
    this.meaning = explained?.meaning;
    this.nextStep = details.nextStep ?? explained?.nextStep ?? 'Check the arguments and try again.';
    this.moreInfo = details.twilioCode !== undefined ? moreInfoUrl(details.twilioCode) : undefined;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    this.extra = details.extra;
  }

  /** The JSON an agent receives as the error result (both as text and structured). */
  toJSON(): Record<string, unknown> {
    return {
      error: this.message,
      ...(this.twilioCode !== undefined && { twilio_code: this.twilioCode }),
      ...(this.meaning && { meaning: this.meaning }),
      next_step: this.nextStep,
      ...(this.moreInfo && { more_info: this.moreInfo }),
      ...(this.outcomeUnknown && { outcome_unknown: true }),
      ...this.extra,
    };
  }
}
