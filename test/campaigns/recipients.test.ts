/**
 * Recipient lists: inline, CSV, JSON and JSON Lines, read one row at a time, judged by the
 * one phone normaliser, stored in batches. A 100,000-row CSV keeps memory flat.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CampaignEngine } from '../../src/campaigns/engine.js';
import { judgeRecipients, readRecipients, RecipientFileError, type NumberedRecipient } from '../../src/campaigns/recipients.js';
import type { RecipientSource } from '../../src/campaigns/types.js';
import { FakeClock, FakeSender, tempOutboxes } from './fakes.js';

const outboxes = tempOutboxes();

async function all(source: RecipientSource): Promise<NumberedRecipient[]> {
  const rows: NumberedRecipient[] = [];
  for await (const r of readRecipients(source)) rows.push(r);
  return rows;
}

describe('reading recipients', () => {
  it('CSV: a header row with a "to" column (any case); every other column is a variable; quoted fields', async () => {
    const path = join(outboxes.dir(), 'list.csv');
    writeFileSync(path, '\uFEFFTo,name,note\n+14155550101,Ann,"likes ""tea"", lots"\n\n+14155550102,Bob,\n');
    expect(await all({ kind: 'file', path })).toEqual([
      { row: 1, to: '+14155550101', variables: { name: 'Ann', note: 'likes "tea", lots' } },
      { row: 2, to: '+14155550102', variables: { name: 'Bob', note: '' } },
    ]);
  });

  it('CSV without a "to" column is refused, naming the columns found', async () => {
    const path = join(outboxes.dir(), 'list.csv');
    writeFileSync(path, 'phone,name\n+14155550101,Ann\n');
    await expect(all({ kind: 'file', path })).rejects.toThrow(/no "to" column \(found: phone, name\)/);
  });

  it('JSON: an array of objects, {to, variables} or flat; strings with braces and escapes across read chunks', async () => {
    const path = join(outboxes.dir(), 'list.json');
    const tricky = 'a } ] { [ \\" " \\\\ "'.repeat(4000); // > 64 KiB: objects straddle read chunks
    const rows = [
      { to: '+14155550101', variables: { name: 'Ann', quote: tricky } },
      { to: '+14155550102', name: 'Bob', age: 40, nested: { ignored: true } },
      { to: 14155550103, name: 'Cy' },
    ];
    writeFileSync(path, ` \n${JSON.stringify(rows, null, 2)}\n`);
    const read = await all({ kind: 'file', path });
    expect(read.map((r) => r.row)).toEqual([1, 2, 3]);
    expect(read[0]!.variables.quote).toBe(tricky);
    expect(read[1]).toEqual({ row: 2, to: '+14155550102', variables: { name: 'Bob', age: '40' } });
    expect(read[2]!.to).toBe('14155550103');
  });

  it('JSON that is not an array of objects, or is truncated, is refused', async () => {
    const dir = outboxes.dir();
    const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    await expect(all({ kind: 'file', path: write('a.json', '{"to": "+1"}') })).rejects.toThrow(RecipientFileError);
    await expect(all({ kind: 'file', path: write('b.json', '[1, 2]') })).rejects.toThrow(/must be a JSON object/);
    await expect(all({ kind: 'file', path: write('c.json', '[{"to": "+14155550101"}, {"to": "+1415') })).rejects.toThrow(/not closed/);
    await expect(all({ kind: 'file', path: write('d.json', '[{"to": +}]') })).rejects.toThrow(/element 1/);
  });

  it('JSON Lines: one object per line, blank lines skipped', async () => {
    const path = join(outboxes.dir(), 'list.jsonl');
    writeFileSync(path, '{"to":"+14155550101","name":"Ann"}\n\n{"to":"+14155550102","variables":{"name":"Bob"}}\n');
    expect(await all({ kind: 'file', path })).toEqual([
      { row: 1, to: '+14155550101', variables: { name: 'Ann' } },
      { row: 2, to: '+14155550102', variables: { name: 'Bob' } },
    ]);
  });

  it('judging: canonical numbers through the one normaliser, invalid rows with their row number, WhatsApp prefixed', async () => {
    const judged = [];
    const rows = readRecipients({
      kind: 'inline',
      recipients: [{ to: '+1 415-555-0101', variables: { n: 'x' } }, { to: 'whatsapp:+14155550102', variables: { n: 'y' } }, { to: 'call me', variables: { n: 'z' } }],
    });
    for await (const r of judgeRecipients(rows, { campaignId: 'CP1', channel: 'sms', template: '{{n}}' })) judged.push(r);
    expect(judged.map((r) => [r.row, r.state, r.to, r.uniqueKey])).toEqual([
      [1, 'pending', '+14155550101', '+14155550101'],
      [2, 'invalid', 'whatsapp:+14155550102', null],
      [3, 'invalid', 'call me', null],
    ]);
    expect(judged[1]!.error).toBe('row 2: "whatsapp:+14155550102" is a WhatsApp address in an SMS campaign');
    expect(judged[0]!.idempotencyKey).toBe('CP1:1');
    const wa = [];
    for await (const r of judgeRecipients(readRecipients({ kind: 'inline', recipients: [{ to: '+14155550101' }] }), { campaignId: 'CP2', channel: 'whatsapp', template: undefined })) wa.push(r);
    expect(wa[0]!.to).toBe('whatsapp:+14155550101');
  });
});

describe('a 100,000-row CSV', () => {
  it('imports with flat memory: invalid and duplicate rows counted, nothing held per recipient', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const dir = outboxes.dir();
    const path = join(dir, 'big.csv');
    const out = createWriteStream(path);
    out.write('to,name,offer\n');
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      // Every 1000th row is a bad number; every 500th repeats the row before it.
      const to = i % 1000 === 999 ? 'not-a-number' : i % 500 === 1 ? `+1646${String(i - 1).padStart(7, '0')}` : `+1646${String(i).padStart(7, '0')}`;
      if (!out.write(`${to},Person ${i},${'x'.repeat(200)}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');

    const clock = new FakeClock();
    const outbox = outboxes.open(join(dir, 'store.sqlite'));
    const engine = new CampaignEngine(outbox, new FakeSender(clock), { clock });
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }, 50);
    const created = await engine.create({
      name: 'big',
      channel: 'sms',
      template: 'Hi {{name}}, {{offer}}',
      from: '+14155550000',
      recipients: { kind: 'file', path },
    });
    clearInterval(sampler);
    gc();
    const after = process.memoryUsage().heapUsed - before;
    const total = Object.values(created.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(N);
    expect(created.counts.invalid).toBe(100);
    expect(created.counts.duplicate).toBe(200);
    expect(created.counts.pending).toBe(N - 300);
    // 100k rendered bodies alone would be > 20 MB; the import keeps one batch at a time.
    expect(after).toBeLessThan(8 * 1024 * 1024);
    expect(peak).toBeLessThan(16 * 1024 * 1024);
    const row = await outbox.getRecipient({ campaignId: created.id, row: 502 });
    expect(row).toMatchObject({ state: 'duplicate', error: 'duplicate of row 501' });
  }, 120_000);
});
