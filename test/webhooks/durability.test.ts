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
  // Set only by the kill at the threshold, while the workers are still streaming: the
  // scenario this test is about. (A stop after the deadline is a setup failure, not a kill.)
  let killedMidStream = false;
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
    while (sent < MAX_REQUESTS && Date.now() < deadline && child.exitCode === null && !killedMidStream) {
      const n = sent++;
      await postOne(n);
      if (!killedMidStream && acknowledged.length >= KILL_AFTER_ACKS) {
        killedMidStream = true;
        child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  if (!killedMidStream) child.kill('SIGKILL');
  await exited;
  agent.destroy();

  // The receiver really died of SIGKILL at the threshold, with requests still in flight
  // (they got no answer): otherwise "nothing lost" below would prove nothing.
  expect(killedMidStream).toBe(true);
  expect(child.signalCode).toBe('SIGKILL');
  expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
  expect(sent).toBeGreaterThan(acknowledged.length);
  const db = new Database(join(dataDir, 'mcp-server-twilio.sqlite'));
  const stored = new Set(db.prepare("SELECT sid FROM webhook_events WHERE kind = 'message_status'").pluck().all() as string[]);
  db.close();
  const lost = acknowledged.filter((sid) => !stored.has(sid));
  expect(lost).toEqual([]);
}, 40_000);
