import { describe, expect, it } from 'vitest';
import { parseToolsets, selectTools, ToolsetError } from '../../src/server/tool-selection.js';
import { allTools } from '../../src/tools/index.js';

const names = (tools: { name: string }[]) => tools.map((t) => t.name);

describe('tool selection', () => {
  it('lists the default toolsets', () => {
    const { enabled } = selectTools(allTools, { readOnly: false, toolsets: undefined, sandbox: true });
    expect(names(enabled)).toEqual(expect.arrayContaining(['send_sms', 'get_message', 'get_server_status']));
  });

  it('read-only wins over every other setting and says why', () => {
    const { enabled, hidden } = selectTools(allTools, { readOnly: true, toolsets: parseToolsets('all'), sandbox: true });
    for (const tool of enabled) expect(tool.kind).toBe('read');
    expect(hidden.find((h) => h.name === 'send_sms')?.reason).toMatch(/read-only/);
    expect(hidden.find((h) => h.name === 'cancel_message')?.reason).toMatch(/read-only/);
  });

  it('hides toolsets that are not enabled, keeping the server toolset', () => {
    const { enabled, hidden } = selectTools(allTools, { readOnly: false, toolsets: parseToolsets('server'), sandbox: false });
    expect(names(enabled)).toEqual(['get_server_status', 'get_policy', 'get_audit_log']);
    expect(hidden.find((h) => h.name === 'make_call')?.reason).toMatch(/toolset "voice" is not enabled/);
    expect(hidden.find((h) => h.name === 'send_sms')?.reason).toMatch(/toolset "messaging" is not enabled/);
  });

  it('refuses unknown toolset names with the valid list', () => {
    expect(() => parseToolsets('mesaging')).toThrow(ToolsetError);
    expect(() => parseToolsets('mesaging')).toThrow(/Valid: messaging/);
  });
});
