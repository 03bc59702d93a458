/**
 * Probabilistic faults for load and reliability tests (bulk campaigns): every matching
 * request draws its fate — 429, 500/503, a reset before or after processing, or none — and
 * an added latency, from a seeded PRNG, so a failing run can be replayed with its seed.
 * Independently, an account-level token bucket answers 429 20429 beyond N requests per
 * second, as Twilio's edge does to a sender that outruns its account's limit.
 *
 * One-shot faults (faults.ts) come first and are untouched by this: a request a one-shot
 * fault takes draws nothing here.
 */
import { randomInt } from 'node:crypto';
import type { SandboxFault } from './faults.js';

export interface SandboxChaos {
  /** Probability (0–1) that a matching request answers 429 20429 with Retry-After, unprocessed. */
  rate429?: number;
  /** Probability (0–1) of a 500 20500 or 503 20503 (even odds), unprocessed. */
  rate5xx?: number;
  /** Probability (0–1) that the socket is destroyed before processing (nothing is created). */
  rateResetBefore?: number;
  /**
   * Probability (0–1) that the request is processed (the message IS created) and then the
   * socket destroyed: the case a client cannot tell from a lost request.
   */
  rateResetAfter?: number;
  /** Retry-After (whole seconds) on the rate-drawn 429s; default 1. */
  retryAfterSeconds?: number;
  /** Added to every matching request before anything else: fixed ms, or uniform in [min, max]. */
  latencyMs?: number | { min: number; max: number };
  /**
   * Which paths the rates and latency apply to (a string matches as a regular expression
   * source); default POST …/Messages.json and POST …/Calls.json.
   */
  paths?: ReadonlyArray<RegExp | string>;
  /** Methods the rates and latency apply to; default ['POST']. '*' matches any. */
  methods?: readonly string[];
  /** Account-level limit: at most N requests per second (token bucket), then 429 20429. */
  accountRps?: number;
  /** Bucket size (the burst allowed at once); default accountRps. */
  accountBurst?: number;
  /** 'all' (default): every non-admin request takes a token; 'matching': only those the rates apply to. */
  accountRpsScope?: 'all' | 'matching';
  /** Seed of the PRNG (mulberry32), an unsigned 32-bit integer; default random (reported back). */
  seed?: number;
}

/** The settings in force, defaults filled in: what `getChaos()` and GET /__sandbox/chaos report. */
export interface SandboxChaosSettings {
  rate429: number;
  rate5xx: number;
  rateResetBefore: number;
  rateResetAfter: number;
  retryAfterSeconds: number;
  latencyMs: { min: number; max: number };
  paths: string[];
  methods: string[];
  accountRps: number | null;
  accountBurst: number | null;
  accountRpsScope: 'all' | 'matching';
  seed: number;
}

export class ChaosSpecError extends Error {}

export const DEFAULT_CHAOS_PATHS: readonly RegExp[] = [
  /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/,
  /^\/2010-04-01\/Accounts\/[^/]+\/Calls\.json$/,
];

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): tiny, fast, good enough statistics for
 * fault draws, and the same sequence on every platform for a given seed.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    private readonly clock: () => number,
  ) {
    this.tokens = capacity;
    this.last = clock();
  }

  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole seconds until the next token, at least 1 (Retry-After has no fractions). */
  secondsUntilToken(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}

function rate(spec: SandboxChaos, key: 'rate429' | 'rate5xx' | 'rateResetBefore' | 'rateResetAfter'): number {
  const value = spec[key] ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ChaosSpecError(`${key} must be a number between 0 and 1; got ${JSON.stringify(value)}`);
  }
  return value;
}

function toRegExp(path: RegExp | string): RegExp {
  if (path instanceof RegExp) return new RegExp(path.source, path.flags.replace(/[gy]/g, '')); // g/y make test() stateful
  if (typeof path !== 'string') throw new ChaosSpecError(`paths must be regular expressions (or their sources); got ${JSON.stringify(path)}`);
  try {
    return new RegExp(path);
  } catch {
    throw new ChaosSpecError(`paths: not a valid regular expression: ${path}`);
  }
}

interface Resolved {
  settings: SandboxChaosSettings;
  paths: RegExp[];
}

/** Checks a spec whole: a bad one is refused, so a run never goes half-configured. */
export function resolveChaos(spec: SandboxChaos): Resolved {
  if (typeof spec !== 'object' || spec === null) throw new ChaosSpecError('expected an object');
  const known = new Set(['rate429', 'rate5xx', 'rateResetBefore', 'rateResetAfter', 'retryAfterSeconds', 'latencyMs', 'paths', 'methods', 'accountRps', 'accountBurst', 'accountRpsScope', 'seed']);
  const unknown = Object.keys(spec).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new ChaosSpecError(`unknown option(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  const rates = { rate429: rate(spec, 'rate429'), rate5xx: rate(spec, 'rate5xx'), rateResetBefore: rate(spec, 'rateResetBefore'), rateResetAfter: rate(spec, 'rateResetAfter') };
  const sum = rates.rate429 + rates.rate5xx + rates.rateResetBefore + rates.rateResetAfter;
  // The outcomes exclude one another (one draw picks one), so their probabilities must fit in 1.
  if (sum > 1 + 1e-9) throw new ChaosSpecError(`rate429 + rate5xx + rateResetBefore + rateResetAfter must not exceed 1; got ${sum}`);
  const retryAfterSeconds = spec.retryAfterSeconds ?? 1;
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) throw new ChaosSpecError(`retryAfterSeconds must be a non-negative integer; got ${JSON.stringify(retryAfterSeconds)}`);
  const latency = spec.latencyMs ?? 0;
  const [min, max] = typeof latency === 'number' ? [latency, latency] : typeof latency === 'object' && latency !== null ? [latency.min, latency.max] : [NaN, NaN];
  if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max) || min < 0 || max < min) {
    throw new ChaosSpecError(`latencyMs must be a non-negative number of ms or {min, max} with 0 <= min <= max; got ${JSON.stringify(latency)}`);
  }
  if (spec.paths !== undefined && !Array.isArray(spec.paths)) throw new ChaosSpecError('paths must be a list of regular expressions');
  const paths = spec.paths === undefined ? [...DEFAULT_CHAOS_PATHS] : spec.paths.map(toRegExp);
  if (spec.methods !== undefined && (!Array.isArray(spec.methods) || spec.methods.some((m) => typeof m !== 'string' || m === ''))) {
    throw new ChaosSpecError('methods must be a list of HTTP methods (or "*")');
  }
  const methods = (spec.methods ?? ['POST']).map((m) => m.toUpperCase());
  const positive = (key: 'accountRps' | 'accountBurst') => {
    const value = spec[key];
    if (value === undefined) return null;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ChaosSpecError(`${key} must be a positive number; got ${JSON.stringify(value)}`);
    return value;
  };
  const accountRps = positive('accountRps');
  const burst = positive('accountBurst');
  if (burst !== null && accountRps === null) throw new ChaosSpecError('accountBurst needs accountRps');
  if (burst !== null && burst < 1) throw new ChaosSpecError(`accountBurst must be at least 1 (one request); got ${burst}`);
  const scope = spec.accountRpsScope ?? 'all';
  if (scope !== 'all' && scope !== 'matching') throw new ChaosSpecError(`accountRpsScope must be 'all' or 'matching'; got ${JSON.stringify(scope)}`);
  if (spec.seed !== undefined && (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff)) {
    throw new ChaosSpecError(`seed must be an integer between 0 and 4294967295; got ${JSON.stringify(spec.seed)}`);
  }
  const seed = spec.seed ?? randomInt(0, 0xffffffff);
  return {
    paths,
    settings: {
      ...rates,
      retryAfterSeconds,
      latencyMs: { min, max },
      paths: paths.map((p) => p.source),
      methods,
      accountRps,
      // A bucket smaller than one request would refuse everything.
      accountBurst: accountRps === null ? null : burst ?? Math.max(1, accountRps),
      accountRpsScope: scope,
      seed,
    },
  };
}

/** What the HTTP layer does with one request: wait `delayMs`, then act as `fault` (or normally). */
export interface ChaosDecision {
  delayMs: number;
  fault?: SandboxFault;
  /** For the log: which knob decided. */
  cause: 'rate' | 'account-rps';
}

export class Chaos {
  private resolved: Resolved | null = null;
  private random: () => number = Math.random;
  private bucket: TokenBucket | null = null;

  /** `clock` in ms (monotonic); tests of the bucket may pass their own. */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Replaces the settings (null turns chaos off); the PRNG restarts from the seed and the bucket is full. */
  set(spec: SandboxChaos | null): SandboxChaosSettings | null {
    if (spec === null) {
      this.resolved = null;
      this.bucket = null;
      return null;
    }
    const resolved = resolveChaos(spec);
    const { settings } = resolved;
    this.resolved = resolved;
    this.random = mulberry32(settings.seed);
    this.bucket = settings.accountRps === null ? null : new TokenBucket(settings.accountRps, settings.accountBurst!, this.clock);
    return this.settings();
  }

  settings(): SandboxChaosSettings | null {
    return this.resolved && structuredClone(this.resolved.settings);
  }

  /** The fate of one non-admin request; undefined when chaos leaves it alone. */
  decide(method: string, path: string): ChaosDecision | undefined {
    if (!this.resolved) return undefined;
    const { settings, paths } = this.resolved;
    const upper = method.toUpperCase();
    const matching = (settings.methods.includes('*') || settings.methods.includes(upper)) && paths.some((p) => p.test(path));
    if (this.bucket && (settings.accountRpsScope === 'all' || matching) && !this.bucket.take()) {
      return { delayMs: 0, cause: 'account-rps', fault: { path, kind: 'status', status: 429, retryAfterSeconds: this.bucket.secondsUntilToken() } };
    }
    if (!matching) return undefined;
    // Always three draws per matching request, whatever the settings: the sequence of
    // outcomes for a seed does not shift when latency or the 5xx split is turned on.
    const outcome = this.random();
    const which5xx = this.random();
    const latency = this.random();
    const { min, max } = settings.latencyMs;
    const delayMs = min + Math.round(latency * (max - min));
    let threshold = settings.rate429;
    if (outcome < threshold) return { delayMs, cause: 'rate', fault: { path, kind: 'status', status: 429, retryAfterSeconds: settings.retryAfterSeconds } };
    threshold += settings.rate5xx;
    if (outcome < threshold) return { delayMs, cause: 'rate', fault: { path, kind: 'status', status: which5xx < 0.5 ? 500 : 503 } };
    threshold += settings.rateResetBefore;
    if (outcome < threshold) return { delayMs, cause: 'rate', fault: { path, kind: 'reset-before' } };
    threshold += settings.rateResetAfter;
    if (outcome < threshold) return { delayMs, cause: 'rate', fault: { path, kind: 'reset-after' } };
    return { delayMs, cause: 'rate' };
  }
}

/** Outbound messages ever created (deleted ones too), by recipient: what a campaign test counts. */
export function outboundCounts(messages: Iterable<{ direction: string; to: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) if (m.direction !== 'inbound') counts.set(m.to, (counts.get(m.to) ?? 0) + 1);
  return counts;
}

/** The admin route's JSON: the same fields, `paths` as regular expression sources. */
export function parseChaosJson(raw: string): SandboxChaos {
  const spec = JSON.parse(raw) as unknown;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ChaosSpecError('expected a JSON object');
  return spec as SandboxChaos;
}
