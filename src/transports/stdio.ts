/**
 * stdio transport: JSON-RPC on stdin/stdout, nothing else on stdout.
 * `serveStdio` speaks 2026-07-28 and serves 2025-era clients from the same factory.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { log } from '../util/log.js';

export function startStdio(factory: () => McpServer, onClosed: () => void): { close(): Promise<void> } {
  const handle = serveStdio(factory, { onerror: (error) => log.warn(`stdio: ${error.message}`) });
  // The client closing stdin ends the session; the caller then releases everything else
  // (an embedded sandbox's listening socket would otherwise keep the process alive).
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
  return handle;
}
