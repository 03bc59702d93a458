/**
 * Fault injection for reliability tests: make the next matching request answer an error
 * without processing it, drop the connection before or after processing, or never answer.
 * 'reset-after' and 'hang' exist because they are the cases a client cannot tell apart
 * from a lost request: the message WAS created, and a retry would send it twice.
 */
import { TwilioError } from './wire.js';

export interface SandboxFault {
  method?: string;
  /** Matched against the request path; a string matches as a substring. */
  path: RegExp | string;
  kind: 'status' | 'reset-before' | 'reset-after' | 'hang';
  status?: number;
  retryAfterSeconds?: number;
  /** How many matching requests it affects (default 1). */
  times?: number;
}

interface ArmedFault extends SandboxFault {
  remaining: number;
}

export class FaultInjector {
  private faults: ArmedFault[] = [];

  inject(fault: SandboxFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** Returns (and consumes once) the first fault matching this request. */
  take(method: string, path: string): SandboxFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method.toUpperCase()) &&
        (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }
}

/** Twilio's own codes for the statuses its edge answers; others follow the 20xxx pattern. */
const FAULT_BODIES: Record<number, [number, string]> = {
  429: [20429, 'Too Many Requests'],
  500: [20500, 'Internal Server Error'],
  502: [20502, 'Bad Gateway'],
  503: [20503, 'Service Unavailable'],
  504: [20504, 'Gateway Timeout'],
};

export function faultError(fault: SandboxFault): TwilioError {
  const status = fault.status ?? 500;
  const [code, message] = FAULT_BODIES[status] ?? [20000 + status, `HTTP ${status}`];
  return new TwilioError(status, code, message);
}
