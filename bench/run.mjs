/**
 * npm run bench — every number measured in this run, ratios against baselines measured
 * in the same run (never timed assertions in tests). See bench/README.md.
 */
import { mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../dist/sandbox/index.js';
import { FAKE_ANCHOR_ARGS, ANCHOR, installAnchor } from './lib/anchor.mjs';
import { measureIngest } from './lib/ingest.mjs';
import { cleanEnv, coldStart, StdioSession } from './lib/spawn-mcp.mjs';
import { fmt, median, percentile } from './lib/stats.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, '..', 'dist', 'cli', 'main.js');
const FLOOR = join(HERE, 'floor-server.mjs');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 9);
const SEND_WARMUP = 100;
const SEND_RUNS = Number(process.env.BENCH_SEND_RUNS ?? 500);
const log = (line) => process.stderr.write(`${line}\n`);
const verdict = (ok) => (ok ? 'PASS' : 'MISS');

async function measureColdStarts(anchorEntry) {
  const env = cleanEnv();
  const targets = {
    ours: [process.execPath, [SERVER]],
    anchor: [process.execPath, [anchorEntry, ...FAKE_ANCHOR_ARGS]],
    floor: [process.execPath, [FLOOR]],
  };
  const results = { ours: [], anchor: [], floor: [] };
  // Interleaved so that drift in machine load hits every server alike.
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const [name, [command, args]] of Object.entries(targets)) results[name].push(await coldStart(command, args, env));
  }
  return results;
}

async function measureSends() {
  const sandbox = await startSandbox({ timing: { sendingMs: 50, sentMs: 100, deliveredMs: 200 } });
  const session = new StdioSession(process.execPath, [SERVER], cleanEnv({
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    // The bench measures the send path, not the guardrails: lift caps and quiet hours.
    TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '100000',
    TWILIO_MCP_MAX_MESSAGES_PER_DAY: '100000',
    TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '100000',
    TWILIO_MCP_QUIET_HOURS: 'off',
    TWILIO_MCP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-send-')),
  }));
  try {
    await session.initialize();
    const mcp = [];
    for (let i = 0; i < SEND_WARMUP + SEND_RUNS; i++) {
      const started = performance.now();
      const result = await session.request('tools/call', { name: 'send_sms', arguments: { to: '+14155550100', body: `bench ${i}` } });
      if (result.isError) throw new Error(`send_sms failed: ${result.content[0].text}`);
      if (i >= SEND_WARMUP) mcp.push(performance.now() - started);
    }
    const agent = new Agent({ keepAlive: true });
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    const url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`;
    const direct = [];
    const { request } = await import('node:http');
    const post = (body) =>
      new Promise((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < SEND_WARMUP + SEND_RUNS; i++) {
      const body = new URLSearchParams({ To: '+14155550100', From: sandbox.testSenderNumber, Body: `bench ${i}` }).toString();
      const started = performance.now();
      await post(body);
      if (i >= SEND_WARMUP) direct.push(performance.now() - started);
    }
    agent.destroy();
    return { mcp, direct };
  } finally {
    await session.close();
    await sandbox.close();
  }
}

async function main() {
  const anchor = installAnchor(log);
  log(`anchor ${ANCHOR} from ${anchor.source}`);
  log(`cold start: ${COLD_RUNS} interleaved runs each …`);
  const cold = await measureColdStarts(anchor.entry);
  log(`send_sms round trips: ${SEND_RUNS} after ${SEND_WARMUP} warm-ups …`);
  const sends = await measureSends();
  log('webhook ingestion: 5,000 signed status callbacks, 32 concurrent …');
  const ingest = await measureIngest('receiver', { requests: 5000, concurrency: 32 });
  const ingestBaseline = await measureIngest('baseline', { requests: 5000, concurrency: 32 });

  const coldMs = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, median(v.map((r) => r.ms))]));
  const rss = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, Math.max(...v.map((r) => r.rssMiB))]));
  const listBytes = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, Buffer.byteLength(JSON.stringify(v[0].tools))]));
  const toolCount = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, v[0].tools.length]));
  const mcp50 = median(sends.mcp);
  const direct50 = median(sends.direct);

  const rows = [
    ['server', 'cold start p50 (ms)', 'peak RSS (MiB)', 'tools', 'tools/list bytes', '≈ tokens (bytes/4)'],
    ['mcp-server-twilio', fmt(coldMs.ours), fmt(rss.ours), toolCount.ours, listBytes.ours, Math.round(listBytes.ours / 4)],
    [`${ANCHOR} (anchor)`, fmt(coldMs.anchor), fmt(rss.anchor), toolCount.anchor, listBytes.anchor, Math.round(listBytes.anchor / 4)],
    ['floor (same SDK, 1 tool)', fmt(coldMs.floor), fmt(rss.floor), toolCount.floor, listBytes.floor, Math.round(listBytes.floor / 4)],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const out = [];
  out.push('', `Node ${process.version}, ${COLD_RUNS} cold starts per server (median; peak RSS = max VmHWM)`, '');
  for (const row of rows) out.push(row.map((c, i) => String(c).padEnd(widths[i])).join('  '));
  out.push('');
  const coldRatio = coldMs.ours / coldMs.anchor;
  const rssRatio = rss.ours / rss.anchor;
  out.push(`cold start   ours/anchor = ${fmt(coldRatio, 2)}  (target ≤ 0.50) ${verdict(coldRatio <= 0.5)}   ours/floor = ${fmt(coldMs.ours / coldMs.floor, 2)}`);
  out.push(`peak RSS     ours/anchor = ${fmt(rssRatio, 2)}  (target ≤ 0.65) ${verdict(rssRatio <= 0.65)}   ours/floor = ${fmt(rss.ours / rss.floor, 2)}`);
  out.push(`tools/list   ours/anchor = ${fmt(listBytes.ours / listBytes.anchor, 3)}  (${listBytes.ours} vs ${listBytes.anchor} bytes)`);
  out.push('');
  out.push(`send_sms via MCP (stdio → server → sandbox)   p50 ${fmt(mcp50, 2)} ms  p99 ${fmt(percentile(sends.mcp, 99), 2)} ms`);
  out.push(`direct REST POST to the same sandbox         p50 ${fmt(direct50, 2)} ms  p99 ${fmt(percentile(sends.direct, 99), 2)} ms`);
  out.push(`MCP overhead p50 = ${fmt(mcp50 - direct50, 2)} ms  (target ≤ 2 ms) ${verdict(mcp50 - direct50 <= 2)}`);
  out.push('');
  out.push(`webhooks ingested durably (verified, fsynced)  ${fmt(ingest.perSecond, 0)}/s  answer p50 ${fmt(percentile(ingest.latencies, 50), 2)} ms  p99 ${fmt(percentile(ingest.latencies, 99), 2)} ms  (target ≥ 2000/s) ${verdict(ingest.perSecond >= 2000)}`);
  out.push(`bare HTTP server, same load (no checks, no disk) ${fmt(ingestBaseline.perSecond, 0)}/s  answer p99 ${fmt(percentile(ingestBaseline.latencies, 99), 2)} ms   receiver/bare = ${fmt(ingest.perSecond / ingestBaseline.perSecond, 2)}`);
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
