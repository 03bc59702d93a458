/**
 * Spawns an MCP server over stdio and speaks raw JSON-RPC to it (no client library, so
 * the client adds nothing to what is measured): cold start = spawn → tools/list answer;
 * peak RSS = VmHWM of the child right after that answer.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { track } from './children.mjs';

/** The ambient environment minus TWILIO_* (the same for every server compared). */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWILIO_')) env[k] = v;
  return { ...env, ...extra };
}

function peakRssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

export class StdioSession {
  constructor(command, args, env) {
    this.started = performance.now();
    this.child = track(spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    this.nextId = 1;
    this.pending = new Map();
    this.buffer = '';
    this.stderr = '';
    this.child.stderr.on('data', (c) => (this.stderr += c.toString()));
    // A server that dies (bad arguments, a crash) fails the pending requests at once
    // instead of leaving them to time out.
    this.child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter({ error: { message: `server exited (${signal ?? code}); stderr:\n${this.stderr.slice(-2000)}` } });
      this.pending.clear();
    });
    this.child.stdin.on('error', () => {});
    this.child.stdout.on('data', (chunk) => {
      this.buffer += chunk.toString();
      let newline;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (!line.trim()) continue;
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        const waiter = this.pending.get(message.id);
        if (waiter) {
          this.pending.delete(message.id);
          waiter(message);
        }
      }
    });
  }

  request(method, params = {}, timeoutMs = 30_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms; stderr:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${message.error.message ?? JSON.stringify(message.error)}`));
        else resolve(message.result);
      });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  notify(method, params = {}) {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  async initialize() {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    this.notify('notifications/initialized');
  }

  peakRssMiB() {
    return peakRssMiB(this.child.pid);
  }

  async close() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** One cold start: spawn → initialize → tools/list. Returns ms, peak RSS and the tool list. */
export async function coldStart(command, args, env) {
  const session = new StdioSession(command, args, env);
  try {
    await session.initialize();
    const { tools } = await session.request('tools/list');
    const ms = performance.now() - session.started;
    return { ms, rssMiB: session.peakRssMiB(), tools };
  } finally {
    await session.close();
  }
}
