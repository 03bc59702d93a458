/**
 * The send pipeline under concurrency, through the real server over stdio:
 *  - a cap holds: N concurrent send_sms against an hourly cap of C, counted at the sandbox;
 *  - throughput: sends per second the pipeline sustains at a given number in flight, against
 *    direct REST posts to the same sandbox at the same concurrency (the baseline, same run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../../dist/sandbox/index.js';
import { directMessagePoster } from './rest.mjs';
import { cleanEnv, StdioSession } from './spawn-mcp.mjs';

const LIFTED = { TWILIO_MCP_MAX_MESSAGES_PER_DAY: '1000000', TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '1000000', TWILIO_MCP_QUIET_HOURS: 'off' };

async function withServer(server, extraEnv, fn) {
  const sandbox = await startSandbox({ timing: { sendingMs: 50, sentMs: 100, deliveredMs: 200 } });
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-pipeline-'));
  const session = new StdioSession(process.execPath, [server], cleanEnv({
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
    TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
    TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
    TWILIO_MCP_DATA_DIR: dataDir,
    ...LIFTED,
    ...extraEnv,
  }));
  try {
    await session.initialize();
    return await fn(session, sandbox);
  } finally {
    await session.close();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Messages the sandbox holds (every page), read over its REST API as any client would. */
async function sandboxMessageCount(sandbox) {
  const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
  let url = `${sandbox.baseUrl}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json?PageSize=1000`;
  let count = 0;
  while (url) {
    const page = await (await fetch(url, { headers: { authorization: auth } })).json();
    count += page.messages.length;
    url = page.next_page_uri ? `${sandbox.baseUrl}${page.next_page_uri}` : undefined;
  }
  return count;
}

const send = (session, i, tag) =>
  session.request('tools/call', { name: 'send_sms', arguments: { to: `+1415555${String(1000 + (i % 9000)).padStart(4, '0')}`, body: `${tag} ${i}` } }, 120_000);

export async function measureCapUnderConcurrency(server, { sends, cap }) {
  return withServer(server, { TWILIO_MCP_MAX_MESSAGES_PER_HOUR: String(cap) }, async (session, sandbox) => {
    const results = await Promise.all(Array.from({ length: sends }, (_, i) => send(session, i, 'cap')));
    const refusedByCap = results.filter((r) => r.isError && /"rule":"caps"/.test(r.content?.[0]?.text ?? '')).length;
    return { sends, cap, accepted: results.filter((r) => !r.isError).length, refusedByCap, atSandbox: await sandboxMessageCount(sandbox) };
  });
}

/** `total` sends with `inFlight` outstanding at any time, through the server and directly. */
export async function measureThroughput(server, { total, inFlight }) {
  return withServer(server, { TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1000000' }, async (session, sandbox) => {
    const run = async (one) => {
      let next = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < total) await one(next++);
      }));
      return total / ((performance.now() - started) / 1000);
    };
    // Warm-up, then the pipeline path.
    await run((i) => send(session, i, 'warm'));
    const pipeline = await run(async (i) => {
      const result = await send(session, i, 'tp');
      if (result.isError) throw new Error(`send_sms failed in the throughput run: ${result.content?.[0]?.text}`);
    });
    // Direct: the same sandbox, the same concurrency, one keep-alive socket per in-flight slot.
    const posters = Array.from({ length: inFlight }, () => directMessagePoster(sandbox));
    let slot = 0;
    const direct = await run((i) => posters[slot++ % inFlight].post({ To: `+1415556${String(1000 + (i % 9000)).padStart(4, '0')}`, From: sandbox.testSenderNumber, Body: `direct ${i}` }));
    for (const p of posters) p.close();
    return { total, inFlight, pipelinePerSecond: pipeline, directPerSecond: direct };
  });
}
