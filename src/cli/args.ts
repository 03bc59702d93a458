/**
 * Command-line parsing. Deliberately tiny and strict: an unknown flag stops the server
 * with the usage text, and secrets are refused on the command line (they would show in
 * `ps` and shell history): they come from the environment only.
 */
import type { SandboxChaos } from '../sandbox/index.js';

export const USAGE = `Usage:
  mcp-server-twilio [--http [--port N] [--host ADDR] [--stateless]] [--sandbox]
                    [--read-only] [--toolsets a,b|all] [--webhook-port N] [--policy FILE]
  mcp-server-twilio sandbox [--port N] [--host ADDR] [--chaos-429 R] [--chaos-5xx R]
                    [--chaos-reset-before R] [--chaos-reset-after R] [--chaos-retry-after S]
                    [--chaos-latency-ms MS|MIN-MAX] [--chaos-path REGEX]... [--chaos-seed N]
                    [--account-rps N [--account-rps-scope all|matching]]
  mcp-server-twilio audit-export [--since ISO-TIME]

  (default)      serve MCP over stdio
  --http         serve Streamable HTTP at http://HOST:PORT/mcp (default 127.0.0.1:3000)
  --stateless    HTTP without sessions (for several instances behind a load balancer)
  --sandbox      use the embedded Twilio sandbox even when credentials are set
  --read-only    list no tool that sends, calls, buys, deletes or changes anything
  --toolsets     comma-separated toolsets to enable (default messaging,inbox), or all
  --webhook-port in stdio mode, receive Twilio webhooks on this port (HTTP mode uses its own port)
  --policy FILE  JSON send policy (countries, caps, quiet hours, …); see README
  sandbox        run only the Twilio sandbox emulator and print its URL and test credentials
  --chaos-*      sandbox only: per-request probabilities (0-1) of 429 (Retry-After
                 --chaos-retry-after, default 1 s), 500/503, a reset before or after
                 processing, and added latency, on POST Messages.json/Calls.json (or each
                 --chaos-path); --chaos-seed makes a run repeatable
  --account-rps  sandbox only: answer 429 20429 beyond N requests a second (all requests,
                 or only the chaos paths with --account-rps-scope matching)
  audit-export   print the audit log as JSON lines (oldest first) from the store in TWILIO_MCP_DATA_DIR

Credentials come from the environment (TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, or
TWILIO_API_KEY + TWILIO_API_SECRET + TWILIO_ACCOUNT_SID). Without them the embedded
sandbox is used and nothing reaches a real phone.`;

export type Command =
  | {
      kind: 'serve';
      transport: 'stdio' | 'http';
      host: string;
      port: number;
      stateless: boolean;
      forceSandbox: boolean;
      readOnly: boolean;
      /** Raw --toolsets value; validated by server/tool-selection. */
      toolsets: string | undefined;
      webhookPort: number | undefined;
      policyFile: string | undefined;
    }
  | { kind: 'sandbox'; host: string; port: number; chaos?: SandboxChaos }
  | { kind: 'audit-export'; since: string | undefined }
  | { kind: 'help' }
  | { kind: 'version' };

export class UsageError extends Error {}

const SECRET_FLAGS = /^--(auth-?token|api-?secret|api-?key|account-?sid|token|password)(=|$)/i;

function parsePort(value: string | undefined): number {
  const port = Number(value);
  if (value === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port needs a number between 0 and 65535 (0 picks a free port); got "${value ?? ''}".`);
  }
  return port;
}

const CHAOS_RATE_FLAGS = {
  '--chaos-429': 'rate429',
  '--chaos-5xx': 'rate5xx',
  '--chaos-reset-before': 'rateResetBefore',
  '--chaos-reset-after': 'rateResetAfter',
} as const;

/** A plain decimal number: Number('') is 0 and Number('0x10') 16, neither of which a user meant. */
function parseNumber(flag: string, value: string | undefined, expected: string): number {
  if (value === undefined || !/^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim())) {
    throw new UsageError(`${flag} needs ${expected}; got "${value ?? ''}".`);
  }
  return Number(value);
}

function parseRate(flag: string, value: string | undefined): number {
  const rate = parseNumber(flag, value, 'a probability between 0 and 1, e.g. 0.05');
  if (rate > 1) throw new UsageError(`${flag} needs a probability between 0 and 1, e.g. 0.05; got "${value}".`);
  return rate;
}

function parseLatency(value: string | undefined): SandboxChaos['latencyMs'] {
  const expected = 'milliseconds, fixed (20) or a range MIN-MAX (10-80)';
  const range = /^([^-]+)-([^-]+)$/.exec(value ?? '');
  if (!range) return parseNumber('--chaos-latency-ms', value, expected);
  const min = parseNumber('--chaos-latency-ms', range[1], expected);
  const max = parseNumber('--chaos-latency-ms', range[2], expected);
  if (min > max) throw new UsageError(`--chaos-latency-ms range must be MIN-MAX with MIN <= MAX; got "${value}".`);
  return { min, max };
}

function parseWhole(flag: string, value: string | undefined, max: number, expected: string): number {
  const n = parseNumber(flag, value, expected);
  if (!Number.isInteger(n) || n > max) throw new UsageError(`${flag} needs ${expected}; got "${value}".`);
  return n;
}

export function parseArgs(argv: readonly string[]): Command {
  const args = [...argv];
  if (args[0] === 'audit-export') {
    if (args.length === 1) return { kind: 'audit-export', since: undefined };
    if (args[1] === '--since' && args[2] && args.length === 3) return { kind: 'audit-export', since: args[2] };
    throw new UsageError('audit-export takes only --since ISO-TIME.');
  }
  const isSandbox = args[0] === 'sandbox';
  if (isSandbox) args.shift();
  let transport: 'stdio' | 'http' = 'stdio';
  let host = '127.0.0.1';
  let port: number | undefined;
  let stateless = false;
  let forceSandbox = false;
  let readOnly = false;
  let toolsets: string | undefined;
  let webhookPort: number | undefined;
  let policyFile: string | undefined;
  const chaos: SandboxChaos & { paths?: string[] } = {};

  while (args.length > 0) {
    const arg = args.shift()!;
    if (SECRET_FLAGS.test(arg)) {
      throw new UsageError(`${arg.split('=')[0]} is not accepted: secrets on the command line leak into process lists and shell history. Set the TWILIO_* environment variables instead.`);
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? args.shift();
    switch (flag) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-v':
      case '--version':
        return { kind: 'version' };
      case '--http':
        if (isSandbox) throw new UsageError('--http is not an option of the sandbox command (it always serves HTTP).');
        transport = 'http';
        break;
      case '--stateless':
        if (isSandbox) throw new UsageError('--stateless is not an option of the sandbox command.');
        stateless = true;
        break;
      case '--sandbox':
        if (isSandbox) throw new UsageError('--sandbox is implied by the sandbox command.');
        forceSandbox = true;
        break;
      case '--port':
        port = parsePort(value());
        break;
      case '--read-only':
        if (isSandbox) throw new UsageError('--read-only is not an option of the sandbox command.');
        readOnly = true;
        break;
      case '--toolsets': {
        const t = value();
        if (!t || isSandbox) throw new UsageError('--toolsets needs a comma-separated list, e.g. --toolsets messaging,inbox (or all).');
        toolsets = t;
        break;
      }
      case '--policy': {
        const f = value();
        if (!f || isSandbox) throw new UsageError('--policy needs the path of a JSON policy file, e.g. --policy ./policy.json');
        policyFile = f;
        break;
      }
      case '--webhook-port':
        if (isSandbox) throw new UsageError('--webhook-port is not an option of the sandbox command.');
        webhookPort = parsePort(value());
        break;
      case '--host': {
        const h = value();
        if (!h) throw new UsageError('--host needs an address, e.g. --host 127.0.0.1');
        host = h;
        break;
      }
      case '--chaos-429':
      case '--chaos-5xx':
      case '--chaos-reset-before':
      case '--chaos-reset-after':
        chaos[CHAOS_RATE_FLAGS[flag]] = parseRate(flag, value());
        break;
      case '--chaos-retry-after':
        chaos.retryAfterSeconds = parseWhole(flag, value(), Number.MAX_SAFE_INTEGER, 'a whole number of seconds, e.g. 1');
        break;
      case '--chaos-latency-ms':
        chaos.latencyMs = parseLatency(value());
        break;
      case '--chaos-path': {
        const source = value();
        if (!source) throw new UsageError('--chaos-path needs a regular expression matched against request paths, e.g. --chaos-path "/Messages\\.json$"');
        try {
          new RegExp(source);
        } catch {
          throw new UsageError(`--chaos-path is not a valid regular expression: "${source}".`);
        }
        chaos.paths = [...(chaos.paths ?? []), source];
        break;
      }
      case '--chaos-seed':
        chaos.seed = parseWhole(flag, value(), 0xffffffff, 'an integer between 0 and 4294967295');
        break;
      case '--account-rps': {
        const rps = parseNumber(flag, value(), 'a positive number of requests per second, e.g. 100');
        if (rps <= 0) throw new UsageError(`--account-rps needs a positive number of requests per second, e.g. 100; got "${rps}".`);
        chaos.accountRps = rps;
        break;
      }
      case '--account-rps-scope': {
        const scope = value();
        if (scope !== 'all' && scope !== 'matching') throw new UsageError(`--account-rps-scope needs all or matching; got "${scope ?? ''}".`);
        chaos.accountRpsScope = scope;
        break;
      }
      default:
        throw new UsageError(`Unknown argument "${arg}".`);
    }
  }
  if (Object.keys(chaos).length > 0 && !isSandbox) {
    throw new UsageError('--chaos-* and --account-rps* are options of the sandbox command: mcp-server-twilio sandbox --chaos-429 0.1 …');
  }
  if (isSandbox) {
    const sum = (chaos.rate429 ?? 0) + (chaos.rate5xx ?? 0) + (chaos.rateResetBefore ?? 0) + (chaos.rateResetAfter ?? 0);
    // One draw picks one outcome per request, so the probabilities must fit in 1.
    if (sum > 1 + 1e-9) throw new UsageError(`--chaos-429 + --chaos-5xx + --chaos-reset-before + --chaos-reset-after must not exceed 1; got ${sum}.`);
    if (chaos.accountRpsScope !== undefined && chaos.accountRps === undefined) throw new UsageError('--account-rps-scope needs --account-rps N.');
    return { kind: 'sandbox', host, port: port ?? 4010, ...(Object.keys(chaos).length > 0 && { chaos }) };
  }
  if (port !== undefined && transport !== 'http') throw new UsageError('--port only applies with --http.');
  if (stateless && transport !== 'http') throw new UsageError('--stateless only applies with --http.');
  if (webhookPort !== undefined && transport === 'http') {
    throw new UsageError('--webhook-port is for stdio mode; with --http, webhooks arrive on the HTTP port under /webhooks/twilio/.');
  }
  return { kind: 'serve', transport, host, port: port ?? 3000, stateless, forceSandbox, readOnly, toolsets, webhookPort, policyFile };
}
