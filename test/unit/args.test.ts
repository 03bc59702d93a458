import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli/args.js';

describe('parseArgs', () => {
  it('defaults to stdio', () => {
    expect(parseArgs([])).toMatchObject({ kind: 'serve', transport: 'stdio', forceSandbox: false });
  });
  it('reads --http --port --host and --port=N', () => {
    expect(parseArgs(['--http', '--port', '0', '--host', '::1'])).toMatchObject({ transport: 'http', port: 0, host: '::1' });
    expect(parseArgs(['--http', '--port=8080'])).toMatchObject({ port: 8080 });
  });
  it('has a sandbox command', () => {
    expect(parseArgs(['sandbox', '--port', '5000'])).toEqual({ kind: 'sandbox', host: '127.0.0.1', port: 5000 });
  });
  it('refuses secrets on the command line', () => {
    expect(() => parseArgs(['--auth-token', 'abc'])).toThrow(/environment variables/);
    expect(() => parseArgs(['--api-secret=abc'])).toThrow(UsageError);
  });
  it('refuses unknown flags and bad ports', () => {
    expect(() => parseArgs(['--htp'])).toThrow(/Unknown argument/);
    expect(() => parseArgs(['--http', '--port', 'x'])).toThrow(/--port needs a number/);
    expect(() => parseArgs(['--port', '80'])).toThrow(/only applies with --http/);
  });
  describe('sandbox chaos flags', () => {
    it('reads every chaos flag into the sandbox command', () => {
      expect(
        parseArgs([
          'sandbox', '--chaos-429', '0.1', '--chaos-5xx', '0.02', '--chaos-reset-before', '0.01', '--chaos-reset-after=0.01',
          '--chaos-latency-ms', '20', '--account-rps', '100', '--chaos-seed', '42', '--chaos-retry-after', '3',
          '--chaos-path', 'Messages\\.json$', '--chaos-path', '/Calls', '--account-rps-scope', 'matching',
        ]),
      ).toEqual({
        kind: 'sandbox',
        host: '127.0.0.1',
        port: 4010,
        chaos: {
          rate429: 0.1, rate5xx: 0.02, rateResetBefore: 0.01, rateResetAfter: 0.01, latencyMs: 20, accountRps: 100, seed: 42,
          retryAfterSeconds: 3, paths: ['Messages\\.json$', '/Calls'], accountRpsScope: 'matching',
        },
      });
      expect(parseArgs(['sandbox', '--chaos-latency-ms', '10-80'])).toMatchObject({ chaos: { latencyMs: { min: 10, max: 80 } } });
      expect(parseArgs(['sandbox', '--chaos-429', '1'])).toMatchObject({ chaos: { rate429: 1 } });
      expect(parseArgs(['sandbox', '--chaos-5xx', '.5', '--account-rps', '0.5'])).toMatchObject({ chaos: { rate5xx: 0.5, accountRps: 0.5 } });
      expect(parseArgs(['sandbox'])).not.toHaveProperty('chaos');
    });
    it('refuses out-of-range or malformed values with a message naming the flag', () => {
      expect(() => parseArgs(['sandbox', '--chaos-429', '1.5'])).toThrow(/--chaos-429 needs a probability between 0 and 1, e.g. 0.05; got "1.5"/);
      expect(() => parseArgs(['sandbox', '--chaos-5xx', '-0.1'])).toThrow(/--chaos-5xx needs a probability between 0 and 1/);
      expect(() => parseArgs(['sandbox', '--chaos-reset-before', ''])).toThrow(/--chaos-reset-before needs a probability/);
      expect(() => parseArgs(['sandbox', '--chaos-reset-after'])).toThrow(/--chaos-reset-after needs a probability/);
      expect(() => parseArgs(['sandbox', '--chaos-429', '10%'])).toThrow(UsageError);
      expect(() => parseArgs(['sandbox', '--chaos-429', '0x1'])).toThrow(UsageError);
      expect(() => parseArgs(['sandbox', '--chaos-429', '0.6', '--chaos-5xx', '0.5'])).toThrow(/must not exceed 1; got 1.1/);
      expect(() => parseArgs(['sandbox', '--chaos-latency-ms', '-5'])).toThrow(/--chaos-latency-ms needs milliseconds/);
      expect(() => parseArgs(['sandbox', '--chaos-latency-ms', '80-10'])).toThrow(/MIN <= MAX/);
      expect(() => parseArgs(['sandbox', '--account-rps', '0'])).toThrow(/--account-rps needs a positive number/);
      expect(() => parseArgs(['sandbox', '--account-rps', 'many'])).toThrow(/--account-rps needs a positive number/);
      expect(() => parseArgs(['sandbox', '--account-rps-scope', 'matching'])).toThrow(/needs --account-rps/);
      expect(() => parseArgs(['sandbox', '--account-rps', '5', '--account-rps-scope', 'some'])).toThrow(/all or matching/);
      expect(() => parseArgs(['sandbox', '--chaos-seed', '1.5'])).toThrow(/--chaos-seed needs an integer between 0 and 4294967295/);
      expect(() => parseArgs(['sandbox', '--chaos-seed', '4294967296'])).toThrow(/--chaos-seed needs an integer/);
      expect(() => parseArgs(['sandbox', '--chaos-retry-after', '0.5'])).toThrow(/--chaos-retry-after needs a whole number/);
      expect(() => parseArgs(['sandbox', '--chaos-path', '('])).toThrow(/not a valid regular expression/);
    });
    it('belong to the sandbox command only', () => {
      expect(() => parseArgs(['--chaos-429', '0.1'])).toThrow(/options of the sandbox command/);
      expect(() => parseArgs(['--http', '--account-rps', '10'])).toThrow(/options of the sandbox command/);
    });
  });
});
