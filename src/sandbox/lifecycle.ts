/**
 * The time-compressed message lifecycle: queued → sending → sent → delivered.
 *
 * DELIVERY-FAILURE RULE (documented in src/sandbox/README.md): the last four digits of
 * the recipient decide a failure, so tests can ask for one on purpose:
 *   …3003 → undelivered, 30003 (unreachable destination handset)
 *   …3005 → undelivered, 30005 (unknown destination handset)
 *   …3006 → undelivered, 30006 (landline or unreachable carrier)
 *   …3007 → undelivered, 30007 (message filtered)
 *   …3008 → failed,      30008 (unknown error)
 * Every other recipient ends delivered.
 */
export interface Timing {
  sendingMs: number;
  sentMs: number;
  deliveredMs: number;
}

export const DEFAULT_TIMING: Timing = { sendingMs: 100, sentMs: 400, deliveredMs: 1500 };

export interface Outcome {
  status: 'delivered' | 'undelivered' | 'failed';
  errorCode: number | null;
  errorMessage: string | null;
}

const FAILURES: Record<string, Outcome> = {
  '3003': { status: 'undelivered', errorCode: 30003, errorMessage: 'Unreachable destination handset' },
  '3005': { status: 'undelivered', errorCode: 30005, errorMessage: 'Unknown destination handset' },
  '3006': { status: 'undelivered', errorCode: 30006, errorMessage: 'Landline or unreachable carrier' },
  '3007': { status: 'undelivered', errorCode: 30007, errorMessage: 'Message filtered' },
  '3008': { status: 'failed', errorCode: 30008, errorMessage: 'Unknown error' },
};

export function finalOutcome(to: string): Outcome {
  const digits = to.replace(/\D/g, '');
  return FAILURES[digits.slice(-4)] ?? { status: 'delivered', errorCode: null, errorMessage: null };
}

/** Price per segment, negative as Twilio bills: US/CA numbers one rate, others another. */
export function pricePerSegment(to: string): number {
  return /^(whatsapp:)?\+1/.test(to) ? 0.0079 : 0.0525;
}
