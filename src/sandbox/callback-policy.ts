/**
 * Where the sandbox may send a webhook (status callbacks, a number's SmsUrl).
 *
 * Twilio only calls public http(s) URLs. The sandbox runs on the caller's machine, so a
 * callback URL chosen by whoever can create a message (an AI agent, through the MCP
 * server) could otherwise make it POST to any service on loopback. Rules:
 *
 * - only `http:` and `https:` URLs, always;
 * - a loopback host (127.0.0.0/8, ::1, `localhost` and `*.localhost`, the unspecified
 *   0.0.0.0 / :: which reach this machine too, IPv4-mapped forms of these) only when the
 *   embedder's `isOwnReceiver` says the URL is its own webhook receiver;
 * - without a policy (the standalone `mcp-server-twilio sandbox`, used by other projects'
 *   tests whose receivers live on loopback) loopback stays allowed.
 *
 * Names that merely resolve to loopback are caught when a webhook is sent
 * (`WebhookSender` resolves the host first), not at create time.
 */
import { isIP } from 'node:net';

export interface CallbackPolicy {
  /** True when `url` is the embedding server's own webhook receiver (the one loopback target allowed). */
  isOwnReceiver(url: URL): boolean;
}

/** `[::1]` as URL.hostname writes it → `::1`. */
const bareHost = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** `::ffff:127.0.0.1`, which URL normalises to `::ffff:7f00:1`, as dotted IPv4. */
function ipv4Mapped(host: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  if (dotted) return dotted;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!hex) return undefined;
  const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

export function isLoopbackAddress(address: string): boolean {
  const host = bareHost(address);
  const v4 = ipv4Mapped(host) ?? (isIP(host) === 4 ? host : undefined);
  if (v4) return v4.startsWith('127.') || v4 === '0.0.0.0';
  if (isIP(host) === 6) return /^(0*:)*:?0*1$/.test(host) || /^[0:]+$/.test(host);
  return false;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname).replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
}

/**
 * Why `url` may not receive a webhook, or undefined when it may. `resolvedAddresses`
 * (from a DNS lookup at send time) extends the loopback rule to names that point there.
 */
export function callbackRefusal(url: string, policy: CallbackPolicy | undefined, resolvedAddresses: string[] = []): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not an absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `only http and https URLs receive webhooks, not ${parsed.protocol}`;
  if (!policy) return undefined;
  const loopback = isLoopbackHost(parsed.hostname) || resolvedAddresses.some(isLoopbackAddress);
  if (loopback && !policy.isOwnReceiver(parsed)) {
    return `${parsed.hostname} is this machine (loopback), and only the server's own webhook receiver may be called there`;
  }
  return undefined;
}
