/**
 * npm run bench — every number measured in this run, ratios against baselines measured
 * in the same run (never timed assertions in tests). See bench/README.md.
 *
 * Knobs: BENCH_COLD_RUNS (9), BENCH_SEND_RUNS (500), BENCH_SEND_WARMUP (100),
 * BENCH_PIPELINE_SENDS (1000), BENCH_TIME_LIMIT_S (1500, not counting the one-time anchor install),
 * BENCH_ONLY (a comma-separated list of sections: cold, sends, ingest, pipeline, relay, campaigns, postgres).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../dist/sandbox/index.js';
import { FAKE_ANCHOR_ARGS, ANCHOR, installAnchor } from './lib/anchor.mjs';
import { killAll } from './lib/children.mjs';
import { measureIngest } from './lib/ingest.mjs';
import { measureCapUnderConcurrency, measureThroughput } from './lib/pipeline.mjs';
import { directMessagePoster } from './lib/rest.mjs';
import { measureRelay } from './lib/relay.mjs';
import { measureCampaigns, measurePgCampaigns } from './lib/campaign.mjs';
import { measureDurableCommit } from './lib/durable-commit.mjs';
import { postgresReachable, withTempDatabase } from './lib/pg-temp.mjs';
import { cleanEnv, coldStart, StdioSession } from './lib/spawn-mcp.mjs';
import { fmt, median, percentile, table } from './lib/stats.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, '..', 'dist', 'cli', 'main.js');
const FLOOR = join(HERE, 'floor-server.mjs');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 9);
const SEND_WARMUP = Number(process.env.BENCH_SEND_WARMUP ?? 100);
const SEND_RUNS = Number(process.env.BENCH_SEND_RUNS ?? 500);
const TIME_LIMIT_S = Number(process.env.BENCH_TIME_LIMIT_S ?? 1500);
const SECTIONS = ['cold', 'sends', 'ingest', 'pipeline', 'relay', 'campaigns', 'postgres'];
// BENCH_ONLY=sends,pipeline measures just those sections (the whole bench takes 20 minutes).
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((x) => x.trim()).filter(Boolean)) : undefined;
for (const name of ONLY ?? []) {
  if (!SECTIONS.includes(name)) throw new Error(`BENCH_ONLY: unknown section "${name}"; the sections are ${SECTIONS.join(', ')}`);
}
const wanted = (section) => !ONLY || ONLY.has(section);
const INGEST = { requests: 5000, concurrency: 32 };
const CAP_RACE = { sends: 200, cap: 50 };
const THROUGHPUT = { total: Number(process.env.BENCH_PIPELINE_SENDS ?? 1000), inFlight: 20 };
const RECIPIENT = '+14155550100';
const log = (line) => process.stderr.write(`${line}\n`);
const verdict = (ok) => (ok ? 'PASS' : 'MISS');
const scratchDir = (prefix) => mkdtempSync(join(tmpdir(), prefix));

async function measureColdStarts(anchorEntry) {
  // The store opens on first use, so tools/list never touches it; the scratch data dir
  // only keeps a future change from writing into the user's real one. Other servers ignore it.
  const dataDir = scratchDir('mcp-twilio-bench-cold-');
  const env = cleanEnv({ TWILIO_MCP_DATA_DIR: dataDir });
  const targets = {
    ours: [process.execPath, [SERVER]],
    oursAll: [process.execPath, [SERVER, '--toolsets', 'all']],
    oursAllEager: [process.execPath, [eagerServerCopy(), '--toolsets', 'all']],
    anchor: [process.execPath, [anchorEntry, ...FAKE_ANCHOR_ARGS]],
    floor: [process.execPath, [FLOOR]],
  };
  const results = { ours: [], oursAll: [], oursAllEager: [], anchor: [], floor: [] };
  try {
    // One untimed start each first, so no server pays for reading its files from disk.
    for (const [command, args] of Object.values(targets)) await coldStart(command, args, env);
    // Interleaved so that drift in machine load hits every server alike.
    for (let run = 0; run < COLD_RUNS; run++) {
      for (const [name, [command, args]] of Object.entries(targets)) results[name].push(await coldStart(command, args, env));
    }
    return results;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * One sandbox, started here, serves both paths: the server reaches it through
 * TWILIO_MCP_API_BASE_URL with the sandbox's credentials, the direct path posts to it.
 * The two kinds of call alternate, so both see the same sandbox state and machine load.
 */
async function measureSends() {
  const sandbox = await startSandbox({ timing: { sendingMs: 50, sentMs: 100, deliveredMs: 200 } });
  const dataDir = scratchDir('mcp-twilio-bench-send-');
  const session = new StdioSession(process.execPath, [SERVER], cleanEnv({
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    // The bench measures the send path, not the guardrails: lift caps and quiet hours
    // (every check still runs, none refuses).
    TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '100000',
    TWILIO_MCP_MAX_MESSAGES_PER_DAY: '100000',
    TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '100000',
    TWILIO_MCP_QUIET_HOURS: 'off',
    TWILIO_MCP_DATA_DIR: dataDir,
  }));
  const direct = directMessagePoster(sandbox);
  try {
    await session.initialize();
    const samples = { mcp: [], direct: [] };
    for (let i = 0; i < SEND_WARMUP + SEND_RUNS; i++) {
      let started = performance.now();
      const result = await session.request('tools/call', { name: 'send_sms', arguments: { to: RECIPIENT, body: `bench ${i}` } });
      const mcpMs = performance.now() - started;
      if (result.isError) throw new Error(`send_sms failed: ${result.content?.[0]?.text}`);
      const sent = result.structuredContent ?? {};
      if (sent.account_sid !== sandbox.accountSid || !/^SM[0-9a-f]{32}$/.test(sent.message_sid ?? '')) {
        throw new Error(`send_sms did not reach the bench's sandbox: ${JSON.stringify(sent).slice(0, 300)}`);
      }
      started = performance.now();
      await direct.post({ To: RECIPIENT, From: sandbox.testSenderNumber, Body: `bench direct ${i}` });
      const directMs = performance.now() - started;
      if (i >= SEND_WARMUP) {
        samples.mcp.push(mcpMs);
        samples.direct.push(directMs);
      }
    }
    // Measured after the sends, in this process: the same disk, the same run.
    samples.commit = measureDurableCommit(SEND_RUNS);
    return samples;
  } finally {
    direct.close();
    await session.close();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A copy of dist/ without the tool manifest, beside the project (so it resolves the same
 * node_modules): the server then imports every toolset module and converts every schema
 * at start, which is what it did before the manifest — measured in the same run.
 */
function eagerServerCopy() {
  const copy = join(HERE, '..', '.bench-tmp', 'dist-without-manifest');
  rmSync(copy, { recursive: true, force: true });
  cpSync(join(HERE, '..', 'dist'), copy, { recursive: true });
  rmSync(join(copy, 'tools', 'tool-manifest.json'));
  return join(copy, 'cli', 'main.js');
}

/** tools/list bytes per toolset, grouped by the build's manifest (which knows each tool's toolset). */
function toolsetCosts(tools) {
  const manifest = JSON.parse(readFileSync(join(HERE, '..', 'dist', 'tools', 'tool-manifest.json'), 'utf8'));
  const toolsetOf = new Map(manifest.tools.map((t) => [t.name, t.toolset]));
  const groups = new Map();
  for (const tool of tools) {
    const key = toolsetOf.get(tool.name) ?? '?';
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += Buffer.byteLength(JSON.stringify(tool));
    groups.set(key, group);
  }
  return [...groups].map(([key, g]) => [key, g.count, g.bytes, Math.round(g.bytes / 4)]);
}

function report({ anchor, cold, sends, ingest, ingestBaseline, capRace, throughput, relay, campaigns, postgres }) {
  const extraCa = process.env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS set, for every server alike' : 'NODE_EXTRA_CA_CERTS not set';
  const out = [
    '',
    `Node ${process.version}, ${process.platform} ${process.arch}, ${availableParallelism()} CPUs. Every server gets the ambient environment minus TWILIO_* (${extraCa}).`,
  ];
  if (ONLY) out.push(`Sections measured (BENCH_ONLY): ${[...ONLY].join(', ')}.`);
  if (cold) out.push(...coldSection(anchor, cold));
  if (sends) out.push(...sendsSection(sends));
  if (ingest) out.push(...ingestSection(ingest, ingestBaseline));
  if (capRace) out.push(...pipelineSection(capRace, throughput));
  if (relay) out.push(...relaySection(relay));
  if (campaigns) out.push(...campaignSection(campaigns));
  if (postgres) out.push(...postgresSection(postgres, ingest));
  out.push('', 'PASS/MISS are informational; the exit code does not depend on them.', '');
  return out.join('\n');
}

function coldSection(anchor, cold) {
  const names = {
    ours: 'mcp-server-twilio (default toolsets)',
    oursAll: 'mcp-server-twilio --toolsets all',
    oursAllEager: '  same, schemas built at start (no manifest)', anchor: `${ANCHOR} (anchor)`, floor: 'floor (same SDK, 1 zod tool)' };
  const ms = {};
  const rss = {};
  const bytes = {};
  const rows = [['server', 'cold start ms', '(min–max)', 'peak RSS MiB', 'tools', 'tools/list bytes', '≈ tokens (bytes/4)']];
  for (const [key, runs] of Object.entries(cold)) {
    const times = runs.map((r) => r.ms);
    ms[key] = median(times);
    rss[key] = Math.max(...runs.map((r) => r.rssMiB));
    bytes[key] = Buffer.byteLength(JSON.stringify(runs[0].tools));
    rows.push([names[key], fmt(ms[key]), `(${fmt(Math.min(...times))}–${fmt(Math.max(...times))})`, fmt(rss[key]), runs[0].tools.length, bytes[key], Math.round(bytes[key] / 4)]);
  }
  const coldRatio = ms.ours / ms.anchor;
  const coldAllRatio = ms.oursAll / ms.anchor;
  const toolsetRows = toolsetCosts(cold.oursAll[0].tools);
  const rssRatio = rss.ours / rss.anchor;
  return [
    `Anchor: ${ANCHOR} from ${anchor.source}; default service twilio_api_v2010; fake credentials of the right shape (no network).`,
    '',
    `1. Cold start: spawn → initialize → tools/list answered, over stdio; median of ${COLD_RUNS} interleaved runs after one warm-up each.`,
    '   Peak RSS: VmHWM of the child right after tools/list, highest of the runs. Tokens ≈ bytes of the JSON tools array / 4.',
    '',
    ...table(rows).map((line) => `   ${line}`),
    '',
    `   cold start  ours/anchor = ${fmt(coldRatio, 2)}   target ≤ 0.50  ${verdict(coldRatio <= 0.5)}   (floor/anchor = ${fmt(ms.floor / ms.anchor, 2)}; ours − floor = ${fmt(ms.ours - ms.floor)} ms)`,
    `   cold start  all/anchor  = ${fmt(coldAllRatio, 2)}   target ≤ 0.50  ${verdict(coldAllRatio <= 0.5)}   (--toolsets all: ${cold.oursAll[0].tools.length} tools)`,
    `   build-time manifest vs schemas built at start (every toolset module imported, every schema converted): ${fmt(ms.oursAllEager - ms.oursAll)} ms saved, eager/manifest = ${fmt(ms.oursAllEager / ms.oursAll, 2)}`,
    `   peak RSS    ours/anchor = ${fmt(rssRatio, 2)}   target ≤ 0.65  ${verdict(rssRatio <= 0.65)}   (floor/anchor = ${fmt(rss.floor / rss.anchor, 2)}; ours − floor = ${fmt(rss.ours - rss.floor)} MiB)`,
    `   tools/list  ours/anchor = ${fmt(bytes.ours / bytes.anchor, 3)}  (≈ ${Math.round(bytes.ours / 4)} vs ≈ ${Math.round(bytes.anchor / 4)} tokens)`,
    `   tools/list  all/anchor  = ${fmt(bytes.oursAll / bytes.anchor, 3)}  (≈ ${Math.round(bytes.oursAll / 4)} vs ≈ ${Math.round(bytes.anchor / 4)} tokens)`,
    '',
    '   What each toolset adds to tools/list (--toolsets all):',
    ...table([['toolset', 'tools', 'bytes', '≈ tokens'], ...toolsetRows]).map((line) => `     ${line}`),
  ];
}

function sendsSection(sends) {
  const mcp50 = median(sends.mcp);
  const direct50 = median(sends.direct);
  const overhead = mcp50 - direct50;
  const commit50 = median(sends.commit);
  return [
    '',
    `2. send_sms round trip: ${SEND_RUNS} samples of each path after ${SEND_WARMUP} warm-ups, the two paths alternating, one sandbox (started by the bench) behind both.`,
    '',
    `   (i)  MCP tools/call send_sms: stdio → server (zod, policy, store) → twilio SDK → sandbox   p50 ${fmt(mcp50, 2)} ms   p99 ${fmt(percentile(sends.mcp, 99), 2)} ms`,
    `   (ii) direct REST POST …/Messages.json to the same sandbox (Basic auth, keep-alive)      p50 ${fmt(direct50, 2)} ms   p99 ${fmt(percentile(sends.direct, 99), 2)} ms`,
    `   MCP overhead = p50(i) − p50(ii) = ${fmt(overhead, 2)} ms   target ≤ 2 ms  ${verdict(overhead <= 2)}`,
    `   (iii) one durable SQLite commit on this disk (WAL, synchronous=FULL; each send's reservation pays one before the request leaves)   p50 ${fmt(commit50, 2)} ms   p99 ${fmt(percentile(sends.commit, 99), 2)} ms`,
    `   overhead beyond that commit = MCP overhead − p50(iii) = ${fmt(overhead - commit50, 2)} ms   (the server's own work: zod, policy, SQL, the twilio SDK, JSON-RPC)`,
  ];
}

function ingestSection(ingest, ingestBaseline) {
  const out = [
    '',
    `3. Webhook ingestion: ${INGEST.requests} signed message-status callbacks, ${INGEST.concurrency} concurrent keep-alive connections.`,
    '',
    `   receiver (signature checked, committed to SQLite before the answer)   ${fmt(ingest.perSecond, 0)}/s   answer p50 ${fmt(percentile(ingest.latencies, 50), 2)} ms   p99 ${fmt(percentile(ingest.latencies, 99), 2)} ms   target ≥ 2000/s  ${verdict(ingest.perSecond >= 2000)}`,
    `   bare HTTP server, same load (no checks, no disk)                        ${fmt(ingestBaseline.perSecond, 0)}/s   answer p50 ${fmt(percentile(ingestBaseline.latencies, 50), 2)} ms   p99 ${fmt(percentile(ingestBaseline.latencies, 99), 2)} ms   receiver/bare = ${fmt(ingest.perSecond / ingestBaseline.perSecond, 2)}`,
  ];
  if (ingest.acknowledged < INGEST.requests) out.push(`   WARNING: the receiver acknowledged only ${ingest.acknowledged} of ${INGEST.requests} callbacks`);
  return out;
}

function pipelineSection(capRace, throughput) {
  const capHeld = capRace.atSandbox === capRace.cap && capRace.accepted === capRace.cap && capRace.refusedByCap === capRace.sends - capRace.cap;
  return [
    '',
    `4. Send pipeline under concurrency (decide + reserve in one SQLite transaction before Twilio is called), through the real server over stdio.`,
    '',
    `   ${capRace.sends} concurrent send_sms, hourly cap ${capRace.cap}: ${capRace.accepted} accepted, ${capRace.refusedByCap} refused by the cap, ${capRace.atSandbox} reached the sandbox   target exactly ${capRace.cap}  ${verdict(capHeld)}`,
    `   throughput, ${throughput.total} sends with ${throughput.inFlight} in flight: pipeline ${fmt(throughput.pipelinePerSecond, 0)}/s   direct REST to the same sandbox ${fmt(throughput.directPerSecond, 0)}/s   pipeline/direct = ${fmt(throughput.pipelinePerSecond / throughput.directPerSecond, 2)}`,
  ];
}

function relaySection(relay) {
  const relayIn = percentile(relay.inbound, 50);
  const relayOut = percentile(relay.outbound, 50);
  const echo = percentile(relay.baseline, 50);
  return [
    '',
    `5. ConversationRelay turns (real relay service, signed socket, SQLite transcript; call placement stubbed), ${relay.inbound.length} turns each way on loopback.`,
    '',
    `   caller prompt frame → wait_for_caller returns   p50 ${fmt(relayIn, 2)} ms   p99 ${fmt(percentile(relay.inbound, 99), 2)} ms   target p50 ≤ 5 ms  ${verdict(relayIn <= 5)}`,
    `   say_on_call → first text frame on the socket    p50 ${fmt(relayOut, 2)} ms   p99 ${fmt(percentile(relay.outbound, 99), 2)} ms   target p50 ≤ 5 ms  ${verdict(relayOut <= 5)}`,
    `   bare WebSocket echo round trip, same loopback    p50 ${fmt(echo, 2)} ms   (caller→agent / echo = ${fmt(relayIn / echo, 2)})`,
  ];
}

function campaignSection(c) {
  const perSecond = c.recipients / c.plain.seconds;
  const faultPerSecond = c.faults.recipients / c.faults.seconds;
  const growth = c.rss100k - c.rss10k;
  return [
    '',
    `6. Campaigns through the server (stdio, CSV file, rate limit off, every recipient through the send pipeline), against a sandbox started by the bench.`,
    '',
    `   ${c.recipients} recipients: ${fmt(c.plain.seconds, 1)} s = ${fmt(perSecond, 0)} messages/s end to end (${c.plain.atSandbox} created at the sandbox)   target ≥ 1000/s  ${verdict(perSecond >= 1000)}`,
    `   sandbox raw create rate (8 keep-alive connections, same run)   ${fmt(c.plain.raw, 0)}/s   campaign/raw = ${fmt(perSecond / c.plain.raw, 2)}   target ≥ 0.5  ${verdict(perSecond / c.plain.raw >= 0.5)}`,
    `   ${c.faults.recipients} recipients with faults (10% 429, 2% 5xx, 1% reset after create): ${fmt(c.faults.seconds, 1)} s = ${fmt(faultPerSecond, 0)}/s; duplicates ${c.faults.duplicates}, missing ${c.faults.missing}   target 0 and 0  ${verdict(c.faults.duplicates === 0 && c.faults.missing === 0)}`,
    `   peak RSS: ${fmt(c.rss10k, 1)} MiB after ${c.recipients}, ${fmt(c.rss100k, 1)} MiB after importing ${c.large}   growth ${fmt(growth, 1)} MiB   target < 50  ${verdict(growth < 50)}`,
  ];
}

function postgresSection(postgres, ingest) {
  const out = ['', '7. PostgreSQL (several instances on one database): the same measurements on TWILIO_MCP_DATABASE_URL.', ''];
  if (postgres.skipped) out.push(`   skipped: ${postgres.skipped}`);
  else {
    const p = postgres;
    const one = p.campaign1.recipients / p.campaign1.seconds;
    const two = p.campaign2.recipients / p.campaign2.seconds;
    out.push(
      `   webhook ingestion, committed to PostgreSQL before the answer   ${fmt(p.ingest.perSecond, 0)}/s   p50 ${fmt(percentile(p.ingest.latencies, 50), 2)} ms   p99 ${fmt(percentile(p.ingest.latencies, 99), 2)} ms   target ≥ 2000/s  ${verdict(p.ingest.perSecond >= 2000)}   ${ingest ? `(SQLite, same run: ${fmt(ingest.perSecond, 0)}/s; PostgreSQL/SQLite = ${fmt(p.ingest.perSecond / ingest.perSecond, 2)})` : '(SQLite ingestion not measured in this run)'}`,
      `   campaign, ${p.campaign1.recipients} recipients, 1 instance    ${fmt(p.campaign1.seconds, 1)} s = ${fmt(one, 0)} messages/s   duplicates ${p.campaign1.duplicates}, missing ${p.campaign1.missing}`,
      `   campaign, ${p.campaign2.recipients} recipients, 2 instances   ${fmt(p.campaign2.seconds, 1)} s = ${fmt(two, 0)} messages/s   duplicates ${p.campaign2.duplicates}, missing ${p.campaign2.missing}   2 instances / 1 = ${fmt(two / one, 2)} (2 cores: not expected to double)   target 0 duplicates  ${verdict(p.campaign1.duplicates === 0 && p.campaign2.duplicates === 0 && p.campaign1.missing === 0 && p.campaign2.missing === 0)}`,
    );
    if (p.ingest.acknowledged < INGEST.requests) out.push(`   WARNING: the PostgreSQL receiver acknowledged only ${p.ingest.acknowledged} of ${INGEST.requests} callbacks`);
  }
  return out;
}

async function main() {
  const watchdog = setTimeout(() => {
    log(`bench failed: still running after ${TIME_LIMIT_S} s (BENCH_TIME_LIMIT_S); stopping its servers`);
    killAll();
    process.exit(1);
  }, TIME_LIMIT_S * 1000);
  watchdog.unref();
  const results = {};
  if (wanted('cold')) {
    results.anchor = installAnchor(log);
    log(`anchor ${ANCHOR}: ${results.anchor.source}`);
    log(`cold start: 1 warm-up + ${COLD_RUNS} interleaved runs per server …`);
    results.cold = await measureColdStarts(results.anchor.entry);
  }
  if (wanted('sends')) {
    log(`send_sms round trips: ${SEND_WARMUP} warm-ups + ${SEND_RUNS} samples per path …`);
    results.sends = await measureSends();
  }
  if (wanted('ingest')) {
    log(`webhook ingestion: ${INGEST.requests} signed status callbacks, ${INGEST.concurrency} concurrent, receiver then bare server …`);
    results.ingest = await measureIngest('receiver', INGEST);
    results.ingestBaseline = await measureIngest('baseline', INGEST);
  }
  if (wanted('pipeline')) {
    log(`send pipeline: ${CAP_RACE.sends} concurrent sends against a cap of ${CAP_RACE.cap}, then ${THROUGHPUT.total} sends with ${THROUGHPUT.inFlight} in flight …`);
    results.capRace = await measureCapUnderConcurrency(SERVER, CAP_RACE);
    results.throughput = await measureThroughput(SERVER, THROUGHPUT);
  }
  if (wanted('relay')) {
    log('ConversationRelay: 200 turns each way on a live socket …');
    results.relay = await measureRelay(200);
  }
  if (wanted('campaigns')) {
    log('campaigns: 10,000 recipients clean, 10,000 with faults, 100,000 imported …');
    results.campaigns = await measureCampaigns();
  }
  if (wanted('postgres')) {
    const unreachable = await postgresReachable();
    results.postgres = { skipped: unreachable };
    if (!unreachable) {
      log('PostgreSQL: webhook ingestion, then a 5,000-recipient campaign on 1 and on 2 instances …');
      results.postgres = {
        ingest: await withTempDatabase((url) => measureIngest('postgres', INGEST, url)),
        campaign1: await withTempDatabase((url) => measurePgCampaigns(url, { instances: 1 })),
        campaign2: await withTempDatabase((url) => measurePgCampaigns(url, { instances: 2 })),
      };
    }
  }
  clearTimeout(watchdog);
  process.stdout.write(`${report(results)}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
