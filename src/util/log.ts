/**
 * The one logger. It writes to stderr only: in stdio mode stdout belongs to JSON-RPC,
 * and a single stray byte there breaks the client.
 *
 * Every line passes through the redactor, so a secret that reaches a log line by
 * accident (an error message quoting a URL with credentials, say) is still masked.
 */
const secrets = new Set<string>();

/** Registers a value that must never appear in any output (auth token, API secret, HTTP token). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Replaces every registered secret in `text` with a fixed mask. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.TWILIO_MCP_LOG_LEVEL as Level | undefined) ?? 'info';
if (!(threshold in order)) threshold = 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

function write(level: Level, message: string): void {
  if (order[level] < order[threshold]) return;
  process.stderr.write(`${redactSecrets(`[mcp-server-twilio] ${level}: ${message}`)}\n`);
}

export const log = {
  debug: (message: string) => write('debug', message),
  info: (message: string) => write('info', message),
  warn: (message: string) => write('warn', message),
  error: (message: string) => write('error', message),
};
