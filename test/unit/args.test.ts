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
});
