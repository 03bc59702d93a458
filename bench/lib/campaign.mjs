/**
 * Bulk campaigns end to end through the real server over stdio, against a sandbox the bench
 * starts: 10,000 recipients from a CSV with the rate limit off, timed from start_campaign to
 * completion (every message created at the sandbox, counted there); 10,000 with a fault
 * mix (10% 429 with Retry-After 1 s, 2% 5xx, 1% resets after the create); the sandbox's raw create rate from a plain keep-alive loop (the baseline); and the
 * server's peak RSS after importing 10,000 and 100,000 recipients (memory flat in the list).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { startSandbox } from '../../dist/sandbox/index.js';
import { cleanEnv, StdioSession } from './spawn-mcp.mjs';

const LIFTED = {
  TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '10000000',
  TWILIO_MCP_MAX_MESSAGES_PER_DAY: '10000000',
  TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '10000000',
  TWILIO_MCP_QUIET_HOURS: 'off',
  TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '0',
};
const number = (i) => `+1415${String(5_000_000 + i).padStart(7, '0')}`;

function csv(dir, n) {
  const file = join(dir, `recipients-${n}.csv`);
  const lines = ['to,name'];
  for (let i = 0; i < n; i++) lines.push(`${number(i)},P${i}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The built server over stdio with the campaigns toolset, on `sandbox`, caps lifted. */
function campaignServer(sandbox, dir, extra = {}) {
  return new StdioSession(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'), '--toolsets', 'campaigns'], cleanEnv({
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    TWILIO_MCP_DATA_DIR: mkdtempSync(join(dir, 'data-')),
    TWILIO_MCP_FILES_DIR: dir,
    ...LIFTED,
    ...extra,
  }));
}

async function withServer(sandbox, dir, fn) {
  const session = campaignServer(sandbox, dir);
  try {
    await session.initialize();
    return await fn(session);
  } finally {
    await session.close();
  }
}

const call = async (session, name, args) => {
  const result = await session.request('tools/call', { name, arguments: args }, 120_000);
  if (result.isError) throw new Error(`${name}: ${result.content?.[0]?.text}`);
  return result.structuredContent;
};

async function runCampaign(session, file, total, rate = 0) {
  const started = performance.now();
  const campaign = await call(session, 'start_campaign', { name: `bench-${total}`, template: 'Hello {{name}}', recipients_file: file, rate_per_second: rate });
  for (;;) {
    const got = await call(session, 'get_campaign', { campaign_id: campaign.campaign_id });
    if (got.state === 'completed') return { seconds: (performance.now() - started) / 1000, counts: got.counts };
    if (performance.now() - started > 300_000) throw new Error(`campaign bench: not done after 300 s: ${JSON.stringify(got.counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sandbox's raw create rate: `total` POSTs over 8 keep-alive connections. */
async function rawRate(sandbox, total) {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const authorization = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
  const url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`;
  const post = (i) =>
    new Promise((resolve, reject) => {
      const body = new URLSearchParams({ To: number(100_000 + i), From: sandbox.testSenderNumber, Body: `raw ${i}` }).toString();
      const req = request(url, { method: 'POST', agent, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < total) await post(next++);
  }));
  agent.destroy();
  return total / ((performance.now() - started) / 1000);
}

export async function measureCampaigns({ recipients = 10_000, faulted = 10_000, large = 100_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-campaign-'));
  const timing = { sendingMs: 600_000, sentMs: 600_000, deliveredMs: 600_000 };
  try {
    const file = csv(dir, recipients);
    const clean = await startSandbox({ timing });
    let plain;
    let rss10k;
    try {
      plain = await withServer(clean, dir, async (session) => {
        const run = await runCampaign(session, file, recipients);
        rss10k = session.peakRssMiB();
        return run;
      });
      plain.atSandbox = [...clean.messageCounts().values()].reduce((a, b) => a + b, 0);
      plain.raw = await rawRate(clean, recipients);
    } finally {
      await clean.close();
    }
    // Retry-After 1 s (Twilio's header has whole seconds): this run measures waiting as told,
    // so its rate is bounded by the waits, not by the engine; its targets are 0 and 0.
    const faulty = await startSandbox({ timing, chaos: { rate429: 0.1, rate5xx: 0.02, rateResetAfter: 0.01, retryAfterSeconds: 1, seed: 11 } });
    let faults;
    try {
      faults = await withServer(faulty, dir, (session) => runCampaign(session, csv(dir, faulted), faulted));
      const counts = [...faulty.messageCounts().values()];
      faults.recipients = faulted;
      faults.duplicates = counts.filter((n) => n > 1).length;
      faults.missing = faulted - counts.filter((n) => n >= 1).length;
    } finally {
      await faulty.close();
    }
    // 100,000 recipients imported (sent slowly, then canceled): peak RSS against the 10,000 run's.
    const big = csv(dir, large);
    const idle = await startSandbox({ timing });
    let rss100k;
    try {
      rss100k = await withServer(idle, dir, async (session) => {
        const campaign = await call(session, 'start_campaign', { name: 'bench-import', template: 'Hello {{name}}', recipients_file: big, rate_per_second: 1 });
        await call(session, 'control_campaign', { campaign_id: campaign.campaign_id, action: 'cancel' });
        return session.peakRssMiB();
      });
    } finally {
      await idle.close();
    }
    return { recipients, large, plain, faults, rss10k, rss100k };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same campaign on PostgreSQL (graphile-worker outbox, shared token buckets), once with
 * one server instance and once with two on the same database and sandbox; the campaign is
 * started on the first instance and any instance works it. Duplicates counted at the sandbox.
 */
export async function measurePgCampaigns(databaseUrl, { recipients = 5_000, instances = 1 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-pg-campaign-'));
  const timing = { sendingMs: 600_000, sentMs: 600_000, deliveredMs: 600_000 };
  const sandbox = await startSandbox({ timing });
  const sessions = [];
  try {
    const file = csv(dir, recipients);
    for (let i = 0; i < instances; i++) {
      const session = campaignServer(sandbox, dir, { TWILIO_MCP_DATABASE_URL: databaseUrl, TWILIO_MCP_INSTANCE_NAME: `bench-${i + 1}` });
      await session.initialize();
      // Opens the store (and registers the instance) before the campaign starts.
      await call(session, 'get_campaign', { campaign_id: `CP${'0'.repeat(32)}` }).catch(() => {});
      sessions.push(session);
    }
    const run = await runCampaign(sessions[0], file, recipients);
    const counts = [...sandbox.messageCounts().values()];
    return {
      recipients,
      instances,
      seconds: run.seconds,
      duplicates: counts.filter((n) => n > 1).length,
      missing: recipients - counts.filter((n) => n >= 1).length,
    };
  } finally {
    for (const session of sessions) await session.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
