/**
 * Two server processes on one data directory, through the real pipeline of the built
 * server (dist/): the reservation's BEGIN IMMEDIATE holds across processes. Spawns
 * children, so it is left out of mutation testing (a child never sees a mutant).
 */
import { describe, expect, it } from 'vitest';
import { tempStores } from '../helpers/temp-store.js';

const { freshFile, open } = tempStores('mcp-twilio-two-processes-');

describe('two processes on one data directory', () => {
  it('cannot both take the last slots of a cap, and overlapping decisions wait rather than fail (BEGIN IMMEDIATE)', async () => {
    const { spawn } = await import('node:child_process');
    const file = freshFile();
    open(file); // migrated once up front (closed after the test)
    const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url).href;
    // Each child races its sends against an hourly cap, through the real pipeline.
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(dist('store/sqlite-store.js'))});
      const { SendPipeline } = await import(${JSON.stringify(dist('pipeline/send-pipeline.js'))});
      const { PolicyEngine } = await import(${JSON.stringify(dist('policy/policy-engine.js'))});
      const { OptOutGuard } = await import(${JSON.stringify(dist('policy/opt-out-guard.js'))});
      const { loadPolicy } = await import(${JSON.stringify(dist('policy/policy-schema.js'))});
      const store = openSqliteStore(process.argv[1]);
      // Widen the race: each decision is slow, so the two processes overlap inside it.
      const reserve = store.reserveSend;
      store.reserveSend = (keys, decide) => reserve(keys, (ledger) => { const until = Date.now() + 3; while (Date.now() < until); return decide(ledger); });
      const policy = loadPolicy({ env: { TWILIO_MCP_MAX_MESSAGES_PER_HOUR: process.argv[3], TWILIO_MCP_QUIET_HOURS: 'off' } });
      const pipeline = new SendPipeline({ store: async () => store, policy: new PolicyEngine(policy, store, '+14155550000'), optOuts: new OptOutGuard(), redactBodies: true });
      let sent = 0;
      // Both start at the same moment, whatever their start-up took.
      await new Promise((r) => setTimeout(r, Math.max(0, Number(process.argv[2]) - Date.now())));
      await Promise.allSettled(Array.from({ length: Number(process.argv[4]) }, (_, i) =>
        pipeline.sendMessage({ channel: 'sms', to: '+1415555' + (6000 + i + process.pid % 2 * 100), from: '+14155550000', body: 'p' + process.pid + '-' + i, segments: 1 },
          async () => { await new Promise((r) => setTimeout(r, 2)); sent++; return { sid: 'SM' + String(process.pid).padStart(16, '0') + String(i).padStart(16, '0') }; })));
      process.stdout.write(String(sent));
    `;
    const startAt = String(Date.now() + 1500);
    const run = (cap: number, attempts: number) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, startAt, String(cap), String(attempts)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`child exited ${code}`))));
      });
    // 2 × 8 attempts for 10 slots: exactly 10 leave, none over the cap.
    const [a, b] = await Promise.all([run(10, 8), run(10, 8)]);
    expect(a + b).toBe(10);
    const check = open(file);
    expect((await check.sendTotals(new Date(0), new Date(0))).messagesToday).toBe(10);
    // 2 × 5 attempts for 10 more slots (cap 20): every one leaves — overlapping decisions wait
    // for the write lock instead of failing with SQLITE_BUSY, as a deferred transaction would.
    const [c, d] = await Promise.all([run(20, 5), run(20, 5)]);
    expect(c + d).toBe(10);
  }, 30_000);
});
