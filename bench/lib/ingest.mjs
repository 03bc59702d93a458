/**
 * Signed status callbacks fired at a receiver process over keep-alive connections:
 * throughput (acknowledged callbacks per second) and answer-time percentiles.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';

const FIXTURE = fileURLToPath(new URL('./receiver-process.mjs', import.meta.url));
const TOKEN = 'abcdefabcdefabcdefabcdefabcdef12';
const PUBLIC = 'https://hooks.example.com';
const PATH = '/webhooks/twilio/messages/status';

function sign(url, params) {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', TOKEN).update(data).digest('base64');
}

/** `target`: the data directory, or for mode "postgres" the database URL (a database the caller made). */
export async function measureIngest(mode, { requests, concurrency }, target) {
  const dataDir = target ?? mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-'));
  const child = track(spawn(process.execPath, [FIXTURE, mode, dataDir, TOKEN, PUBLIC], { stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    const url = await receiverUrl(child);
    return await fire(url, { requests, concurrency });
  } finally {
    await stop(child);
    if (!target) rmSync(dataDir, { recursive: true, force: true });
  }
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

function receiverUrl(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the receiver did not print its URL within 10 s')), 10_000);
    child.stdout.once('data', (c) => {
      clearTimeout(timer);
      resolve(c.toString().trim());
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the receiver exited (${code}) before printing its URL`));
    });
  });
}

async function fire(url, { requests, concurrency }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  let acknowledged = 0;
  const one = (n) =>
    new Promise((resolve) => {
      const sid = `SM${n.toString(16).padStart(32, '0')}`;
      const params = { MessageSid: sid, SmsSid: sid, MessageStatus: 'delivered', SmsStatus: 'delivered', AccountSid: `AC${'1'.repeat(32)}`, From: '+15005550006', To: '+14155550800', ApiVersion: '2010-04-01' };
      const body = new URLSearchParams(params).toString();
      const started = performance.now();
      const req = request(`${url}${PATH}`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'x-twilio-signature': sign(`${PUBLIC}${PATH}`, params) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - started);
          if (res.statusCode === 204) acknowledged++;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { perSecond: acknowledged / seconds, acknowledged, latencies };
}
