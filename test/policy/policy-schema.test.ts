/**
 * Loading the policy: defaults, file + environment merging, and start-up messages that
 * name the file and key (or the variable), what is wrong, and the fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy, PolicyConfigError } from '../../src/policy/policy-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-schema-'));
function policyFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof PolicyConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a PolicyConfigError');
}

describe('defaults', () => {
  it('documents what a server with no policy does', () => {
    expect(loadPolicy({ env: {} })).toEqual({
      allow_numbers: [],
      deny_numbers: [],
      caps: { messages_per_hour: 60, messages_per_day: 500, calls_per_day: 100, spend_per_day_usd: 20 },
      quiet_hours: { start: '21:00', end: '08:00' },
      duplicate_window_minutes: 10,
      dry_run: false,
      first_contact: 'allow',
      first_contact_without_elicitation: 'refuse',
      opt_out_scope: 'account',
      calls_honor_sms_opt_outs: false,
      campaign_caps: {},
      prices: { sms_per_segment: {}, call_per_minute: {} },
      audit: { redact_bodies: true },
    });
  });

  it('reads TWILIO_MCP_POLICY when no file is passed', () => {
    const file = policyFile('from-env.json', { dry_run: true });
    expect(loadPolicy({ env: { TWILIO_MCP_POLICY: file } }).dry_run).toBe(true);
  });
});

describe('environment variables', () => {
  it('cover the common cases', () => {
    const policy = loadPolicy({
      env: {
        TWILIO_MCP_ALLOWED_COUNTRIES: 'us, ca',
        TWILIO_MCP_ALLOW_NUMBERS: '+1415,+14155550100',
        TWILIO_MCP_DENY_NUMBERS: '+1900',
        TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '10',
        TWILIO_MCP_MAX_MESSAGES_PER_DAY: '100',
        TWILIO_MCP_MAX_CALLS_PER_DAY: '5',
        TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '2.5',
        TWILIO_MCP_QUIET_HOURS: '22:00-07:30',
        TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '30',
        TWILIO_MCP_DRY_RUN: 'yes',
        TWILIO_MCP_FIRST_CONTACT: 'Confirm',
      },
    });
    expect(policy).toMatchObject({
      allowed_countries: ['US', 'CA'],
      allow_numbers: ['+1415', '+14155550100'],
      deny_numbers: ['+1900'],
      caps: { messages_per_hour: 10, messages_per_day: 100, calls_per_day: 5, spend_per_day_usd: 2.5 },
      quiet_hours: { start: '22:00', end: '07:30' },
      duplicate_window_minutes: 30,
      dry_run: true,
      first_contact: 'confirm',
    });
    expect(loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'OFF', TWILIO_MCP_DRY_RUN: 'false' } })).toMatchObject({ quiet_hours: 'off', dry_run: false });
  });

  it('override the file key by key, leaving the rest of the file in force', () => {
    const file = policyFile('merge.json', {
      caps: { messages_per_day: 10, calls_per_day: 3 },
      quiet_hours: 'off',
      deny_numbers: ['+44'],
      dry_run: false,
    });
    const policy = loadPolicy({ file, env: { TWILIO_MCP_DRY_RUN: 'true', TWILIO_MCP_MAX_MESSAGES_PER_DAY: '20', TWILIO_MCP_QUIET_HOURS: '21:00-08:00' } });
    expect(policy).toMatchObject({
      dry_run: true,
      caps: { messages_per_day: 20, calls_per_day: 3, messages_per_hour: 60 },
      quiet_hours: { start: '21:00', end: '08:00' },
      deny_numbers: ['+44'],
    });
  });

  it('name the variable, what is wrong, and the expected form', () => {
    const problems = problemsOf(() =>
      loadPolicy({
        env: {
          TWILIO_MCP_MAX_MESSAGES_PER_DAY: 'lots',
          TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1.5',
          TWILIO_MCP_DRY_RUN: 'perhaps',
          TWILIO_MCP_QUIET_HOURS: 'late',
          TWILIO_MCP_FIRST_CONTACT: 'ask',
          TWILIO_MCP_ALLOWED_COUNTRIES: 'USA',
          TWILIO_MCP_DENY_NUMBERS: '1900',
        },
      }),
    );
    expect(problems).toHaveLength(7);
    const text = problems.join('\n');
    expect(text).toContain('TWILIO_MCP_MAX_MESSAGES_PER_DAY must be a whole number ≥ 0, e.g. 500; got "lots".');
    expect(text).toContain('TWILIO_MCP_MAX_MESSAGES_PER_HOUR must be a whole number ≥ 0, e.g. 60; got "1.5" (expected a whole number, got number 1.5).');
    expect(text).toContain('TWILIO_MCP_DRY_RUN must be true or false; got "perhaps".');
    expect(text).toMatch(/TWILIO_MCP_QUIET_HOURS must be "HH:MM-HH:MM" \(e\.g\. 21:00-08:00\) or "off"; got "late"/);
    expect(text).toMatch(/TWILIO_MCP_FIRST_CONTACT must be allow, confirm or refuse; got "ask"/);
    expect(text).toMatch(/TWILIO_MCP_ALLOWED_COUNTRIES must be ISO codes separated by commas, e\.g\. US,CA .*; got "USA"/);
    expect(text).toMatch(/TWILIO_MCP_DENY_NUMBERS must be E\.164 numbers or prefixes .*; got "1900"/);
  });
});

describe('policy file problems', () => {
  it('bad JSON names the file and says to fix the syntax', () => {
    const file = policyFile('broken.json', '{ "dry_run": true, }');
    const [problem] = problemsOf(() => loadPolicy({ file, env: {} }));
    expect(problem).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON \\(.*\\)\\. Fix the syntax`));
  });

  it('a missing file names the path and both ways it was given', () => {
    const [problem] = problemsOf(() => loadPolicy({ file: join(dir, 'nope.json'), env: {} }));
    expect(problem).toMatch(/nope\.json: cannot be read \(ENOENT\)\. Check the path given to --policy \/ TWILIO_MCP_POLICY/);
  });

  it('a file that is not an object says what a policy looks like', () => {
    const [problem] = problemsOf(() => loadPolicy({ file: policyFile('array.json', ['US']), env: {} }));
    expect(problem).toMatch(/the policy must be a JSON object such as \{"allowed_countries": \["US"\]\}; got a list\./);
  });

  it('an unknown key is named, with the likely intended key and the known keys', () => {
    const file = policyFile('typo.json', { allowed_country: ['US'], caps: { messages_per_minute: 5 } });
    const problems = problemsOf(() => loadPolicy({ file, env: {} }));
    expect(problems).toContainEqual(expect.stringMatching(/typo\.json: allowed_country: unknown key\. Did you mean "allowed_countries"\? Known keys: allowed_countries, allow_numbers, deny_numbers, caps, .* Remove or rename it\./));
    expect(problems).toContainEqual(expect.stringMatching(/typo\.json: caps\.messages_per_minute: unknown key\. Did you mean "messages_per_hour"\? Known keys in caps: messages_per_hour, messages_per_day, calls_per_day, spend_per_day_usd/));
  });

  it('a wrong type names the key, the value found and the expected form', () => {
    const file = policyFile('types.json', { caps: { messages_per_day: '500' }, dry_run: 'yes', allowed_countries: 'US', deny_numbers: ['+1900', 1900] });
    const text = problemsOf(() => loadPolicy({ file, env: {} })).join('\n');
    expect(text).toContain('caps.messages_per_day: expected a number, got the string "500". Expected a whole number ≥ 0, e.g. 500.');
    expect(text).toContain('dry_run: expected a boolean, got the string "yes". Expected true or false.');
    expect(text).toMatch(/allowed_countries: expected an array, got the string "US"\. Expected a list of ISO country codes, e\.g\. \["US", "CA"\]/);
    expect(text).toMatch(/deny_numbers\[1\]: expected a string, got number 1900\. Expected a list of E\.164 numbers or prefixes/);
  });

  it('a bad time window names the bound and the 24-hour form; an empty window is refused', () => {
    const bad = policyFile('window.json', { quiet_hours: { start: '9pm', end: '8:00' } });
    const text = problemsOf(() => loadPolicy({ file: bad, env: {} })).join('\n');
    expect(text).toContain('quiet_hours.start: the string "9pm" must be HH:MM (24 h). Expected 24-hour HH:MM, e.g. "21:00".');
    expect(text).toMatch(/quiet_hours\.end: the string "8:00" must be HH:MM \(24 h\)/);
    const empty = policyFile('empty-window.json', { quiet_hours: '21:00-21:00' });
    expect(problemsOf(() => loadPolicy({ file: empty, env: {} })).join('\n')).toMatch(/quiet_hours\.end: equals start, which makes an empty window\. Expected 24-hour HH:MM different from start/);
    const word = policyFile('word-window.json', { quiet_hours: 'nights' });
    expect(problemsOf(() => loadPolicy({ file: word, env: {} })).join('\n')).toMatch(/quiet_hours: the string "nights" is not a valid value\. Expected \{"start": "21:00", "end": "08:00"\} or "21:00-08:00" .* or "off"/);
  });

  it('accepts the "21:00-08:00" shorthand in the file too', () => {
    const file = policyFile('shorthand.json', { quiet_hours: '20:30-09:00' });
    expect(loadPolicy({ file, env: {} }).quiet_hours).toEqual({ start: '20:30', end: '09:00' });
  });

  it('bad prices name the country key and the unit', () => {
    const file = policyFile('prices.json', { prices: { sms_per_segment: { uk: 0.05, US: -1 } } });
    const text = problemsOf(() => loadPolicy({ file, env: {} })).join('\n');
    expect(text).toMatch(/prices\.sms_per_segment\.uk: key "uk" must be an ISO country code such as "US"/);
    expect(text).toMatch(/prices\.sms_per_segment\.US: number -1 is too small \(minimum 0\)\. Expected USD per segment by ISO country/);
  });

  it('reports the problems of the file and of the variables together', () => {
    const file = policyFile('both.json', { first_contact: 'sometimes' });
    const problems = problemsOf(() => loadPolicy({ file, env: { TWILIO_MCP_MAX_CALLS_PER_DAY: '-1' } }));
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/both\.json: first_contact: the string "sometimes" is not one of "allow", "confirm", "refuse"/);
    expect(problems.join('\n')).toMatch(/TWILIO_MCP_MAX_CALLS_PER_DAY must be a whole number ≥ 0, e\.g\. 100; got "-1"/);
  });

  it('the error message lists every problem for the start-up output', () => {
    const file = policyFile('message.json', { dry_run: 1 });
    expect(() => loadPolicy({ file, env: {} })).toThrow(/^Invalid send policy:\n {2}- .*dry_run: expected a boolean/);
  });
});
