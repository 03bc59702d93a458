/**
 * A campaign through the real server on the embedded sandbox: rows judged before anything
 * is sent (invalid, duplicate, missing variable), each recipient through the send guards
 * (an opted-out one skipped), counted at the sandbox; pause and cancel; opt-outs in and out as CSV.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPerTest, type InProcessServer } from '../helpers/in-process.js';

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
    expect(refused.json.error).toMatch(/Start campaign "new people" to 2 recipients/);
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
    const server = await start({}, TOOLS);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-optouts-'));
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
    const server = await start({}, TOOLS);
    const missing = await server.callTool('start_campaign', { name: 'x', template: 'hi', recipients_file: '/nonexistent/list.csv' });
    expect(missing.isError).toBe(true);
    expect(missing.json.error).toMatch(/not a file this server can read/);
    expect((await server.callTool('import_opt_outs', { path: '+0811' })).json.error).toMatch(/not a file this server can read/);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-export-'));
    const existing = join(dir, 'keep.csv');
    writeFileSync(existing, 'precious');
    const refused = await server.callTool('export_opt_outs', { path: existing });
    expect(refused.json.error).toMatch(/exists already; it was not overwritten/);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
    expect((await server.callTool('export_opt_outs', { path: join(dir, 'notes.txt') })).json.error).toMatch(/does not end in \.csv/);
  });
});
