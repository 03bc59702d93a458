/**
 * A receiver killed with SIGKILL while callbacks stream in loses none it answered 200
 * (here 204) for. Bounded: at most 3,000 requests, 20 seconds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import twilio from 'twilio';
import { expect, it } from 'vitest';

// The same receiver-in-a-process the ingestion bench drives.
const FIXTURE = fileURLToPath(new URL('../../bench/lib/receiver-process.mjs', import.meta.url));
const TOKEN = 'abcdefabcdefabcdefabcdefabcdef12';
const PUBLIC = 'https://hooks.example.com';
const MAX_REQUESTS = 3000;
const KILL_AFTER_ACKS = 600;
const CONCURRENCY = 16;

it('loses no acknowledged callback when killed -9 mid-stream', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-durability-'));
  const child = spawn(process.execPath, [FIXTURE, 'receiver', dataDir, TOKEN, PUBLIC], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('receiver did not start')), 10_000);
    child.stdout.once('data', (c: Buffer) => {
      clearTimeout(timer);
      resolve(c.toString().trim());
    });
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const path = '/webhooks/twilio/messages/status';
  const acknowledged: string[] = [];
  let sent = 0;
  let killed = false;
  const deadline = Date.now() + 20_000;

  const postOne = (n: number) =>
    new Promise<void>((resolve) => {
      const sid = `SM${n.toString(16).padStart(32, '0')}`;
      const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: `AC${'1'.repeat(32)}`, From: '+15005550006', To: '+14155550700' };
      const body = new URLSearchParams(params).toString();
      const req = request(`${url}${path}`, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${path}`, params),
        },
      });
      req.on('response', (res) => {
        res.resume();
        if (res.statusCode === 204) acknowledged.push(sid);
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(body);
    });

  const worker = async () => {
    while (sent < MAX_REQUESTS && Date.now() < deadline && child.exitCode === null && !killed) {
      const n = sent++;
      await postOne(n);
      if (!killed && acknowledged.length >= KILL_AFTER_ACKS) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (child.exitCode === null && child.signalCode === null) {
    killed = true;
    child.kill('SIGKILL');
  }
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  agent.destroy();

  expect(killed).toBe(true);
  expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
  const db = new Database(join(dataDir, 'mcp-server-twilio.sqlite'));
  const stored = new Set(db.prepare("SELECT sid FROM webhook_events WHERE kind = 'message_status'").pluck().all() as string[]);
  db.close();
  const lost = acknowledged.filter((sid) => !stored.has(sid));
  expect(lost).toEqual([]);
}, 40_000);
