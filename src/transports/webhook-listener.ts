/**
 * A separate HTTP listener for Twilio webhooks, for stdio mode (a desktop client runs the
 * server over stdio, but Twilio still needs somewhere to POST replies and receipts).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { log } from '../util/log.js';

export async function startWebhookListener(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>,
  host: string,
  port: number,
  /** The ConversationRelay socket (false: not a relay path, the connection is closed). */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res)
      .then((handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not a webhook route: POST to /webhooks/twilio/…');
      })
      .catch((error: unknown) => {
        log.error(`webhook listener: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  server.on('upgrade', (req, socket, head) => {
    if (!upgrade?.(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
