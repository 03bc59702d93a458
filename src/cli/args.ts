/**
 * Command-line parsing. Deliberately tiny and strict: an unknown flag stops the server
 * with the usage text, and secrets are refused on the command line (they would show in
 * `ps` and shell history): they come from the environment only.
 */
export const USAGE = `Usage:
  mcp-server-twilio [--http [--port N] [--host ADDR] [--stateless]] [--sandbox]
                    [--read-only] [--toolsets a,b|all] [--webhook-port N] [--policy FILE]
  mcp-server-twilio sandbox [--port N] [--host ADDR]
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
  | { kind: 'sandbox'; host: string; port: number }
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
      default:
        throw new UsageError(`Unknown argument "${arg}".`);
    }
  }
  if (isSandbox) return { kind: 'sandbox', host, port: port ?? 4010 };
  if (port !== undefined && transport !== 'http') throw new UsageError('--port only applies with --http.');
  if (stateless && transport !== 'http') throw new UsageError('--stateless only applies with --http.');
  if (webhookPort !== undefined && transport === 'http') {
    throw new UsageError('--webhook-port is for stdio mode; with --http, webhooks arrive on the HTTP port under /webhooks/twilio/.');
  }
  return { kind: 'serve', transport, host, port: port ?? 3000, stateless, forceSandbox, readOnly, toolsets, webhookPort, policyFile };
}
