/** Result shaping: the structured copy is redacted exactly like the text copy. */
import { describe, expect, it } from 'vitest';
import { successResult, failureResult } from '../../src/server/tool-result.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import { registerSecret } from '../../src/util/log.js';

const SECRET = 'tok-8d1f0c"quoted\\secret';
registerSecret(SECRET);

describe('redaction of tool results', () => {
  it('masks a registered secret in structuredContent as in the text, at any depth, and keeps the two equal', () => {
    const result = successResult({ note: `the token is ${SECRET}`, nested: { list: [SECRET, 'plain'] }, n: 3, none: null });
    expect(JSON.stringify(result)).not.toContain('tok-8d1f0c');
    expect(result.structuredContent).toEqual({ note: 'the token is [REDACTED]', nested: { list: ['[REDACTED]', 'plain'] }, n: 3, none: null });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
  });

  it('masks it in failures too', () => {
    const result = failureResult('send_sms', new ToolFailure({ message: `bad ${SECRET}`, nextStep: 'fix it' }));
    expect(JSON.stringify(result)).not.toContain('tok-8d1f0c');
  });
});
