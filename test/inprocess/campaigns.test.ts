/**
 * A campaign through the real server on the embedded sandbox: rows judged before anything
 * is sent (invalid, duplicate, missing variable), each recipient through the send guards
 * (an opted-out one skipped), counted at the sandbox; pause and cancel; opt-outs in and out as CSV.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPerTest, quietWindowAround, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();
const TOOLS = { toolsets: 'campaigns,messaging,inbox' };

async function settledCampaign(server: InProcessServer, id: string) {
  for (let i = 0; i < 200; i++) {
    const got = await server.callTool('get_campaign', { campaign_id: id });
    if (got.json.state === 'completed' || got.json.state === 'canceled') return got.json;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('campaign did not finish');
}

describe('campaigns', () => {
  it('judges every row first, sends each eligible recipient once through the guards, and skips the opted-out', async () => {
    const server = await start({}, TOOLS);
    await server.callTool('add_opt_out', { recipient: '+14155550704', channel: 'sms' });
    const started = await server.callTool('start_campaign', {
      name: 'reminders',
      template: 'Hi {{name}}, see you at {{time}}.',
      rate_per_second: 0,
      recipients: [
        { to: '+1 415 555 0701', variables: { name: 'Ada', time: '10:00' } },
        { to: '+14155550702', variables: { name: 'Grace', time: '11:00' } },
        { to: '+14155550701', variables: { name: 'Ada again', time: '12:00' } },
        { to: '555-0100', variables: { name: 'Nobody', time: '9:00' } },
        { to: '+14155550703', variables: { name: 'Alan' } },
        { to: '+14155550704', variables: { name: 'Opted', time: '13:00' } },
      ],
    });
    expect(started.isError, started.text).toBe(false);
    expect(started.json.preview[0]).toEqual({ to: '+14155550701', body: 'Hi Ada, see you at 10:00.' });
    expect(started.json.counts).toMatchObject({ duplicate: 1, invalid: 2 });
    expect(started.json.estimated_cost_usd).toBeGreaterThan(0);
    const done = await settledCampaign(server, started.json.campaign_id);
    expect(done.counts).toMatchObject({ sent: 2, skipped_opt_out: 1, duplicate: 1, invalid: 2 });
    expect(await server.sandboxMessagesTo('+14155550701')).toBe(1);
    expect(await server.sandboxMessagesTo('+14155550702')).toBe(1);
    expect(await server.sandboxMessagesTo('+14155550703')).toBe(0);
    expect(await server.sandboxMessagesTo('+14155550704')).toBe(0);
    const audit = await server.callTool('get_audit_log', { tool: 'campaign_send', limit: 10 });
    expect(audit.json.entries.filter((e: { outcome?: string }) => e.outcome === 'sent')).toHaveLength(2);
  });

  it('a live view: progress, throughput, cost so far against the estimate start_campaign gave', async () => {
    const server = await start({}, TOOLS);
    await server.callTool('add_opt_out', { recipient: '+14155550714', channel: 'sms' });
    const started = await server.callTool('start_campaign', {
      name: 'live',
      template: 'Hi {{name}}.',
      rate_per_second: 0,
      recipients: [
        { to: '+14155550711', variables: { name: 'Ada' } },
        { to: '+14155550712', variables: { name: 'Grace' } },
        { to: '+14155550714', variables: { name: 'Opted' } },
        { to: 'nobody', variables: { name: 'Nobody' } },
      ],
    });
    const id = started.json.campaign_id as string;
    const moved: string[] = [];
    const stop = await server.app.services.campaigns.watch((campaignId) => moved.push(campaignId));
    await settledCampaign(server, id);
    stop();
    const live = await server.app.services.campaigns.live(id);
    expect(live).toMatchObject({ campaign_id: id, state: 'completed', total: 4, done: 4, counts: { sent: 2, skipped_opt_out: 1, invalid: 1 } });
    // Three rows were to be sent; two were, at the same per-message price.
    expect(live.estimated_cost_usd).toBe(started.json.estimated_cost_usd);
    expect(live.spent_usd).toBeCloseTo((started.json.estimated_cost_usd * 2) / 3, 4);
    expect(live.throughput.sent_last_minute).toBe(2);
    expect(live.throughput.paced_per_second).toBe(0);
    expect(live.throughput.first_sent_at).not.toBeNull();
    expect(moved).toContain(id);
    await expect(server.app.services.campaigns.live('CP00000000000000000000000000000000')).rejects.toThrow(/no campaign/);
  });

  it('cancel stops what was not sent; control_campaign names the state', async () => {
    const server = await start({}, TOOLS);
    const recipients = Array.from({ length: 40 }, (_, i) => ({ to: `+1415555${String(1000 + i)}`, variables: { n: String(i) } }));
    const started = await server.callTool('start_campaign', { name: 'slow', template: 'Message {{n}}', rate_per_second: 5, recipients });
    const canceled = await server.callTool('control_campaign', { campaign_id: started.json.campaign_id, action: 'cancel' });
    expect(canceled.json.state).toBe('canceled');
    const done = await settledCampaign(server, started.json.campaign_id);
    const sent = done.counts.sent ?? 0;
    expect(sent).toBeLessThan(40);
    let total = 0;
    for (const r of recipients) total += await server.sandboxMessagesTo(r.to);
    expect(total).toBe(sent);
  });

  it('under first_contact "confirm" a campaign is confirmed once as a whole: refused when the client cannot ask, sent when the operator allows that', async () => {
    const recipients = [{ to: '+14155550721', variables: {} }, { to: '+14155550722', variables: {} }];
    const refusing = await start({ TWILIO_MCP_FIRST_CONTACT: 'confirm' }, TOOLS);
    const refused = await refusing.callTool('start_campaign', { name: 'new people', template: 'Welcome!', rate_per_second: 0, recipients });
    expect(refused.isError).toBe(true);
    // The question gives the count after every check, the cost and a sample.
    expect(refused.json.error).toMatch(/Start campaign "new people": 2 messages \(of 2 rows, after number, duplicate, opt-out and policy checks\), about \$0\.\d\d\?.*"Welcome!"/);
    expect((await refusing.callTool('list_campaigns', {})).json.campaigns).toEqual([]);
    expect(await refusing.sandboxMessagesTo('+14155550721')).toBe(0);
    await refusing.close();

    const policyFile = join(mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-')), 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ first_contact: 'confirm', first_contact_without_elicitation: 'allow' }));
    const allowing = await start({}, { ...TOOLS, policyFile });
    const started = await allowing.callTool('start_campaign', { name: 'new people', template: 'Welcome!', rate_per_second: 0, recipients });
    expect(started.isError, started.text).toBe(false);
    expect((await settledCampaign(allowing, started.json.campaign_id)).counts).toMatchObject({ sent: 2 });
  });

  it('imports opt-outs from a CRM CSV and exports the list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-optouts-'));
    const server = await start({ TWILIO_MCP_FILES_DIR: dir }, TOOLS);
    const input = join(dir, 'in.csv');
    writeFileSync(input, 'phone,channel,reason\n+14155550711,sms,"asked by email, 2026-11-30"\nnot-a-number,,\n+14155550712,,\n');
    const imported = await server.callTool('import_opt_outs', { path: input });
    expect(imported.json).toMatchObject({ added: 2, unchanged: 0, rows_read: 3 });
    expect(imported.json.rejected).toEqual([{ row: 3, value: 'not-a-number', reason: 'not an E.164 number' }]);
    expect((await server.callTool('send_sms', { to: '+14155550711', body: 'hi' })).json.rule).toBe('opt_out');
    const output = join(dir, 'out.csv');
    expect((await server.callTool('export_opt_outs', { path: output })).json.exported).toBe(2);
    const csv = readFileSync(output, 'utf8');
    expect(csv.split('\n')[0]).toBe('phone,channel,sender,source,keyword,since');
    expect(csv).toContain('+14155550711,sms,all,manual');
    expect(csv).toContain('+14155550712,all,all,manual');
  });
});

describe('campaign files and paths', () => {
  it('a missing recipients file or opt-out file is a clear refusal, and export never overwrites a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-export-'));
    const server = await start({ TWILIO_MCP_FILES_DIR: dir }, TOOLS);
    const missing = await server.callTool('start_campaign', { name: 'x', template: 'hi', recipients_file: 'list.csv' });
    expect(missing.isError).toBe(true);
    expect(missing.json.error).toMatch(/not a file this server can read/);
    expect((await server.callTool('import_opt_outs', { path: '+0811' })).json.error).toMatch(/not a file this server can read/);
    const existing = join(dir, 'keep.csv');
    writeFileSync(existing, 'precious');
    const refused = await server.callTool('export_opt_outs', { path: existing });
    expect(refused.json.error).toMatch(/exists already; it was not overwritten/);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
    expect((await server.callTool('export_opt_outs', { path: join(dir, 'notes.txt') })).json.error).toMatch(/does not end in \.csv/);
  });

  it('files outside TWILIO_MCP_FILES_DIR are neither read nor written, through .. or a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-files-'));
    const outside = mkdtempSync(join(tmpdir(), 'mcp-twilio-outside-'));
    const secret = join(outside, 'secret.csv');
    writeFileSync(secret, 'to,name\n+14155550731,Secret\n');
    symlinkSync(secret, join(dir, 'link.csv'));
    const server = await start({ TWILIO_MCP_FILES_DIR: dir }, TOOLS);
    for (const path of [secret, '../' + secret.split('/').slice(-2).join('/'), 'link.csv']) {
      const read = await server.callTool('start_campaign', { name: 'x', template: 'hi', recipients_file: path, rate_per_second: 0 });
      expect(read.isError, path).toBe(true);
      expect(read.json.error).toMatch(/outside the folder this server may read and write recipient lists in/);
      expect((await server.callTool('import_opt_outs', { path })).json.error).toMatch(/outside the folder/);
    }
    const written = await server.callTool('export_opt_outs', { path: join(outside, 'out.csv') });
    expect(written.json.error).toMatch(/outside the folder/);
    expect(existsSync(join(outside, 'out.csv'))).toBe(false);
    expect(await server.sandboxMessagesTo('+14155550731')).toBe(0);
    expect((await server.callTool('list_campaigns', {})).json.campaigns).toEqual([]);
    // Inside the folder, a relative name works.
    writeFileSync(join(dir, 'ok.csv'), 'to,name\n+14155550732,Ok\n');
    const ok = await server.callTool('start_campaign', { name: 'ok', template: 'hi {{name}}', recipients_file: 'ok.csv', rate_per_second: 0 });
    expect(ok.isError, ok.text).toBe(false);
    expect((await settledCampaign(server, ok.json.campaign_id)).counts).toMatchObject({ sent: 1 });
  });
});

describe('campaign dry run, caps and insights', () => {
  it('dry_run judges every row (numbers, duplicates, variables, opt-outs, deny list, quiet hours) and sends and stores nothing', async () => {
    const server = await start({ TWILIO_MCP_DENY_NUMBERS: '+14155550745' }, TOOLS);
    await server.callTool('add_opt_out', { recipient: '+14155550744', channel: 'sms' });
    const recipients = [
      { to: '+14155550741', variables: { name: 'Ada' } },
      { to: '+1 415 555 0741', variables: { name: 'Ada twice' } },
      { to: 'not a number', variables: { name: 'x' } },
      { to: '+14155550743', variables: {} },
      { to: '+14155550744', variables: { name: 'Opted' } },
      { to: '+14155550745', variables: { name: 'Denied' } },
      { to: '+14155550746', variables: { name: 'Grace' } },
    ];
    const dry = await server.callTool('start_campaign', { name: 'dry', template: 'Hi {{name}}', recipients, rate_per_second: 0, dry_run: true });
    expect(dry.isError, dry.text).toBe(false);
    expect(dry.json).toMatchObject({ dry_run: true, rows: 7, would_send: 2, counts: { pending: 2, duplicate: 1, invalid: 2, skipped_opt_out: 1, skipped_policy: 1 } });
    expect(dry.json.refused_by_rule).toEqual({ opt_out: 1, deny_numbers: 1 });
    expect(dry.json.problems.map((p: { row: number; state: string }) => [p.row, p.state])).toEqual([
      [2, 'duplicate'],
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'skipped_opt_out'],
      [6, 'skipped_policy'],
    ]);
    expect(dry.json.problems[2].reason).toMatch(/name/);
    expect(dry.json.estimated_cost_usd).toBeGreaterThan(0);
    expect(dry.json.campaign_id).toBeUndefined();
    for (const r of recipients) if (r.to.startsWith('+1415')) expect(await server.sandboxMessagesTo(r.to)).toBe(0);
    expect((await server.callTool('list_campaigns', {})).json.campaigns).toEqual([]);
  });

  it('dry_run counts a recipient in quiet hours as held (sent later), not refused', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), 'America/Los_Angeles') }, TOOLS);
    const dry = await server.callTool('start_campaign', { name: 'night', template: 'Hello', recipients: [{ to: '+14155550751' }], dry_run: true });
    expect(dry.json).toMatchObject({ would_send: 1, counts: { held: 1 } });
    expect(await server.sandboxMessagesTo('+14155550751')).toBe(0);
  });

  it("an operator's per-campaign cap refuses a campaign that would send more, and sends nothing", async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_CAMPAIGN: '2' }, TOOLS);
    const recipients = ['+14155550761', '+14155550762', '+14155550763'].map((to) => ({ to }));
    const refused = await server.callTool('start_campaign', { name: 'too big', template: 'Hello', recipients, rate_per_second: 0 });
    expect(refused.isError).toBe(true);
    expect(refused.json).toMatchObject({ rule: 'campaign_cap', would_send: 3, limit: 2 });
    for (const r of recipients) expect(await server.sandboxMessagesTo(r.to)).toBe(0);
    expect((await server.callTool('list_campaigns', {})).json.campaigns).toEqual([]);
    // Invalid and duplicate rows do not count against it.
    const fits = await server.callTool('start_campaign', { name: 'fits', template: 'Hello', rate_per_second: 0, recipients: [...recipients.slice(0, 2), { to: '+14155550761' }, { to: 'nope' }] });
    expect(fits.isError, fits.text).toBe(false);
    expect((await settledCampaign(server, fits.json.campaign_id)).counts).toMatchObject({ sent: 2 });
  });

  it('a campaign named in campaign_caps gets its own cap', async () => {
    const policyFile = join(mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-')), 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ campaign_caps: { pilot: 1 } }));
    const server = await start({}, { ...TOOLS, policyFile });
    const recipients = [{ to: '+14155550771' }, { to: '+14155550772' }];
    const refused = await server.callTool('start_campaign', { name: 'pilot', template: 'Hello', recipients, rate_per_second: 0 });
    expect(refused.json).toMatchObject({ rule: 'campaign_cap', limit: 1 });
    expect(refused.json.error).toMatch(/campaign_caps\["pilot"\]/);
    const other = await server.callTool('start_campaign', { name: 'other', template: 'Hello', recipients, rate_per_second: 0 });
    expect(other.isError, other.text).toBe(false);
  });

  it('get_campaign gives errors by code with their meaning, throughput, spend, and the replies and opt-outs the campaign caused', async () => {
    const server = await start({}, TOOLS);
    const started = await server.callTool('start_campaign', {
      name: 'effects',
      template: 'Sale today',
      rate_per_second: 0,
      // Twilio's magic numbers: +15005550001 is refused as an invalid number (21211).
      recipients: [{ to: '+14155550781' }, { to: '+14155550782' }, { to: '+14155550783' }, { to: '+15005550001' }],
    });
    expect(started.isError, started.text).toBe(false);
    const done = await settledCampaign(server, started.json.campaign_id);
    expect(done.counts).toMatchObject({ sent: 3, failed_send: 1 });
    expect(done.errors).toEqual([expect.objectContaining({ code: 21211, count: 1, meaning: expect.stringMatching(/\w/) })]);
    expect(done.cost.spent_usd).toBeGreaterThan(0);
    expect(done.throughput).toMatchObject({ last_minute: 3 });
    expect(done).toMatchObject({ replies: 0, opt_outs: 0 });
    const to = '+15005550006';
    await server.callTool('simulate_inbound_message', { from: '+14155550781', to, body: 'Which store?' });
    await server.callTool('simulate_inbound_message', { from: '+14155550782', to, body: 'STOP' });
    const after = (await server.callTool('get_campaign', { campaign_id: started.json.campaign_id })).json;
    expect(after).toMatchObject({ replies: 2, opt_outs: 1 });
  });
});
