import { describe, expect, it } from 'vitest';
import { missingReason, render, templateVariables } from '../../src/campaigns/template.js';

describe('campaign templates', () => {
  it('fills {{variable}} placeholders, with or without spaces inside the braces', () => {
    expect(render('Hi {{name}}, order {{ order_id }} ships {{  day  }}.', { name: 'Ann', order_id: 'A-1', day: 'Monday' })).toEqual({
      ok: true,
      text: 'Hi Ann, order A-1 ships Monday.',
    });
  });

  it('uses a variable as many times as it appears, and leaves text without placeholders alone', () => {
    expect(render('{{x}}-{{x}}', { x: '1' })).toEqual({ ok: true, text: '1-1' });
    expect(render('No placeholders { here }', {})).toEqual({ ok: true, text: 'No placeholders { here }' });
  });

  it('does not interpret a value as a template (no second expansion)', () => {
    expect(render('{{a}}', { a: '{{b}}', b: 'no' })).toEqual({ ok: true, text: '{{b}}' });
  });

  it('names every missing variable, once, in order; a blank value counts as missing', () => {
    expect(render('{{first}} {{last}} {{first}} {{city}}', { last: 'Lee', city: ' ' })).toEqual({ ok: false, missing: ['first', 'city'] });
    expect(missingReason(['name'])).toBe('missing variable name');
    expect(missingReason(['a', 'b'])).toBe('missing variables a, b');
  });

  it('ignores inherited properties', () => {
    expect(render('{{toString}}', {})).toEqual({ ok: false, missing: ['toString'] });
  });

  it('lists the variables a template uses', () => {
    expect(templateVariables('{{ a }} {{b}} {{a}}')).toEqual(['a', 'b']);
  });
});
