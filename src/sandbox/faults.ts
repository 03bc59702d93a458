/**
 * Fault injection for reliability tests: make the next matching request answer an error
 * without processing it, drop the connection before or after processing, or never answer.
 */
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
