/**
 * Refusals keep the rule that made them: the audit row's error names it ("[rule caps] …"),
 * and AuditService.refusalsByRule counts them (the dashboard's guardrails panel). Every
 * audited tool call also tells the event hub, so a live view can follow it.
 */
import { describe, expect, it } from 'vitest';
import { auditErrorText, refusalRule } from '../../src/services/audit.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import type { TwilioEvent } from '../../src/services/events.js';
import { appPerTest, reachedSandbox } from '../helpers/in-process.js';

const start = appPerTest();

describe('refusals by rule', () => {
  it('the audit row of a refusal names its rule, and refusalsByRule counts them', async () => {
    const server = await start({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1', TWILIO_MCP_DENY_NUMBERS: '+14155550499' });
    expect((await server.callTool('send_sms', { to: '+14155550490', body: 'one' })).isError).toBe(false);
    const reached = await reachedSandbox(server, '+14155550491', async () => {
      expect((await server.callTool('send_sms', { to: '+14155550491', body: 'two' })).json).toMatchObject({ rule: 'caps' });
    });
    expect(reached).toBe(0);
    expect((await server.callTool('send_sms', { to: '+14155550499', body: 'denied' })).json).toMatchObject({ rule: 'deny_numbers' });
    // A failure that is no refusal (bad arguments to a service) is counted as failed, with no rule.
    expect((await server.callTool('remove_opt_out', { recipient: '+14155550498', reason: 'They texted START again on 2026-12-01.' })).isError).toBe(true);

    const audit = await server.callTool('get_audit_log', { limit: 10 });
    const errors = audit.json.entries.map((e: { error: string | null }) => e.error).filter(Boolean);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^\[rule caps\] /), expect.stringMatching(/^\[rule deny_numbers\] /)]));

    const day = { start: new Date(Date.now() - 3_600_000), end: new Date(Date.now() + 3_600_000) };
    const refusals = await server.app.services.audit.refusalsByRule(day);
    expect(refusals.failed_calls).toBe(3);
    expect(refusals.by_rule.map((r) => [r.rule, r.count])).toEqual([
      ['caps', 1],
      ['deny_numbers', 1],
    ]);
    expect(refusals.by_rule[0]!.example).not.toMatch(/^\[rule/);
    // Outside the window nothing counts.
    expect((await server.app.services.audit.refusalsByRule({ start: new Date(0), end: new Date(1000) })).by_rule).toEqual([]);
  });

  it('every audited tool call is published as activity, refused or not; reads are not', async () => {
    const server = await start({ TWILIO_MCP_DENY_NUMBERS: '+14155550497' });
    const seen: TwilioEvent[] = [];
    const stop = server.app.events.subscribe((e) => void (e.kind === 'activity' && seen.push(e)));
    await server.callTool('send_sms', { to: '+14155550496', body: 'hello' });
    await server.callTool('send_sms', { to: '+14155550497', body: 'denied' });
    await server.callTool('list_opt_outs', {});
    stop();
    expect(seen).toEqual([
      { kind: 'activity', tool: 'send_sms', failed: false },
      { kind: 'activity', tool: 'send_sms', failed: true },
    ]);
  });

  it('keeps only well-formed rule names and reads them back', () => {
    expect(auditErrorText(new ToolFailure({ message: 'over the cap', extra: { rule: 'caps' } }))).toBe('[rule caps] over the cap');
    expect(auditErrorText(new ToolFailure({ message: 'x', extra: { rule: 'Not A Rule]' } }))).toBe('x');
    expect(auditErrorText(new Error('plain'))).toBe('plain');
    expect(refusalRule('[rule opt_out] STOP received')).toBe('opt_out');
    expect(refusalRule('plain [rule caps] later')).toBeUndefined();
    expect(refusalRule(null)).toBeUndefined();
  });
});
