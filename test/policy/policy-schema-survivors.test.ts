/**
 * Policy loading where the focused Stryker run of policy-schema.ts (78%) found safety defaults
 * and validation unheld: bodies are redacted in the audit by default, a STOP blocks every
 * sender by default, one unreadable variable alone still stops the start, and numbers, times
 * and country keys must match as a whole.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/policy-schema.js';

describe('policy defaults and validation', () => {
  it('defaults: audit bodies redacted, account-wide opt-outs, first contact without elicitation refused', () => {
    const policy = loadPolicy({ env: {} });
    expect(policy.audit.redact_bodies).toBe(true);
    expect(policy.opt_out_scope).toBe('account');
    expect(policy.first_contact_without_elicitation).toBe('refuse');
    // An audit section that does not mention redaction still redacts.
    const file = join(mkdtempSync(join(tmpdir(), 'policy-')), 'policy.json');
    writeFileSync(file, '{"audit": {}}');
    expect(loadPolicy({ file, env: {} }).audit.redact_bodies).toBe(true);
  });

  it('one unreadable variable alone stops the start (it is not silently ignored)', () => {
    expect(() => loadPolicy({ env: { TWILIO_MCP_DRY_RUN: 'perhaps' } })).toThrow('TWILIO_MCP_DRY_RUN must be true or false; got "perhaps".');
    expect(() => loadPolicy({ env: { TWILIO_MCP_DRY_RUN: 'yes please' } })).toThrow(/TWILIO_MCP_DRY_RUN/);
  });

  it('numbers, times and country keys are matched whole', () => {
    expect(() => loadPolicy({ env: { TWILIO_MCP_DENY_NUMBERS: '+1900x' } })).toThrow(/TWILIO_MCP_DENY_NUMBERS/);
    expect(() => loadPolicy({ env: { TWILIO_MCP_DENY_NUMBERS: 'x+1900' } })).toThrow(/TWILIO_MCP_DENY_NUMBERS/);
    expect(() => loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: '21:00-08:00x' } })).toThrow(/TWILIO_MCP_QUIET_HOURS/);
  });
});
