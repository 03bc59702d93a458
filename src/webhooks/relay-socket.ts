/**
 * The ConversationRelay socket, on the receiver's HTTP server: Twilio opens
 * `wss://<public base>/webhooks/twilio/relay/<session>` when a call reaches
 * `<Connect><ConversationRelay>`. The handshake's X-Twilio-Signature is checked against the
 * public URL before the upgrade (an unsigned or forged handshake gets 403 and no socket), and
 * only a session this server opened may connect. Frames are handed to the session's owner.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { log } from '../util/log.js';
import { WEBHOOK_PREFIX } from './receiver.js';
import { verifySignature } from './signature.js';

export const RELAY_PATH = `${WEBHOOK_PREFIX}/relay/`;
const SESSION = /^[0-9a-f-]{36}$/;
/** One frame of ConversationRelay is a short JSON text; anything near this is not Twilio. */
const MAX_FRAME_BYTES = 64 * 1024;

export interface RelaySocketOptions {
  publicBaseUrl: () => string | undefined;
  authTokens: () => Promise<string[]>;
  verifySignatures: boolean;
  /** Whether `session` is one this server (or, with several instances, any of them) opened and still expects. */
  expects(session: string): boolean | Promise<boolean>;
  /** The socket of an accepted session. */
  connected(session: string, socket: WebSocket): void;
}

/** The forms of the URL Twilio may have signed: the ws(s) URL as given in the TwiML, and its http(s) twin. */
function signedUrlCandidates(base: string, path: string): string[] {
  const wsUrl = `${base.replace(/^http/, 'ws')}${path}`;
  const httpUrl = `${base.replace(/^ws/, 'http')}${path}`;
  return [...new Set([wsUrl, httpUrl])];
}

function refuse(socket: Duplex, status: number, reason: string): true {
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
  return true;
}

/** An `upgrade` handler: true when the request was a relay path (answered or accepted), false otherwise. */
export function createRelayUpgrader(options: RelaySocketOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean {
  // `ws` costs ~30 ms to load: only the first live conversation pays for it, not every start.
  let wss: Promise<WebSocketServer> | undefined;
  const server = () => (wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })));
  return (req, socket, head) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (!path.startsWith(RELAY_PATH)) return false;
    const session = path.slice(RELAY_PATH.length);
    if (!SESSION.test(session)) return refuse(socket, 404, 'Not Found');
    void (async () => {
      if (!(await options.expects(session))) {
        refuse(socket, 404, 'Not Found');
        return;
      }
      if (options.verifySignatures) {
        const base = options.publicBaseUrl()?.replace(/\/+$/, '');
        const signature = req.headers['x-twilio-signature'];
        const tokens = base ? await options.authTokens() : [];
        const ok =
          base !== undefined &&
          typeof signature === 'string' &&
          signedUrlCandidates(base, url).some((candidate) => verifySignature({ url: candidate, signature, params: {}, rawBody: Buffer.alloc(0) }, tokens));
        if (!ok) {
          log.warn(`relay handshake refused (403): ${typeof signature === 'string' ? 'its X-Twilio-Signature does not match' : 'no X-Twilio-Signature'} for ${path}`);
          refuse(socket, 403, 'Forbidden');
          return;
        }
      }
      (await server()).handleUpgrade(req, socket, head, (ws) => options.connected(session, ws));
    })().catch((error: unknown) => {
      log.error(`relay handshake: ${error instanceof Error ? error.message : String(error)}`);
      socket.destroy();
    });
    return true;
  };
}
