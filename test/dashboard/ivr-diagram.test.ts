/** The IVR diagram: steps and ends as nodes, moves as edges with the share of the callers at their source. */
import { describe, expect, it } from 'vitest';
import { buildIvrDiagrams, type IvrPathEvent } from '../../src/dashboard/ivr-diagram.js';

const prompt = (step: string): IvrPathEvent => ({ step, event: 'prompt' });
const press = (step: string, digits: string): IvrPathEvent => ({ step, event: 'answer', digits });

describe('buildIvrDiagrams', () => {
  it('counts each branch against the callers who reached its step', () => {
    const [d] = buildIvrDiagrams(
      [
        { callSid: 'CA1', flow: 'support', path: [prompt('menu'), press('menu', '1'), prompt('billing'), { step: 'billing', event: 'hangup' }] },
        { callSid: 'CA2', flow: 'support', path: [prompt('menu'), press('menu', '1'), prompt('billing'), { step: 'billing', event: 'hangup' }] },
        { callSid: 'CA3', flow: 'support', path: [prompt('menu'), press('menu', '2'), { step: 'menu', event: 'transfer' }] },
        // Hung up while the menu played: no answer, no end event.
        { callSid: 'CA4', flow: 'support', path: [prompt('menu')] },
      ],
      () => 'menu',
    );
    expect(d!.calls).toBe(4);
    expect(d!.nodes.map((n) => [n.id, n.kind, n.calls, n.depth])).toEqual([
      ['menu', 'step', 4, 0],
      ['billing', 'step', 2, 1],
      ['end:hung up by the flow', 'end', 2, 2],
      ['end:call ended', 'end', 1, 2],
      ['end:transferred', 'end', 1, 2],
    ]);
    expect(d!.edges).toEqual([
      { from: 'billing', to: 'end:hung up by the flow', calls: 2, share: 1, digits: [] },
      { from: 'menu', to: 'billing', calls: 2, share: 0.5, digits: ['1'] },
      { from: 'menu', to: 'end:call ended', calls: 1, share: 0.25, digits: [] },
      { from: 'menu', to: 'end:transferred', calls: 1, share: 0.25, digits: ['2'] },
    ]);
  });

  it('a repeated prompt is the same step; a call counts once on a move it made twice', () => {
    const [d] = buildIvrDiagrams([
      { callSid: 'CA1', flow: 'f', path: [prompt('a'), { step: 'a', event: 'repeat' }, prompt('a'), press('a', '9'), prompt('b'), prompt('a'), prompt('b'), { step: 'b', event: 'voicemail' }] },
    ]);
    expect(d!.edges.find((e) => e.from === 'a' && e.to === 'b')).toMatchObject({ calls: 1, share: 1, digits: ['9'] });
    expect(d!.edges.find((e) => e.from === 'b' && e.to === 'a')).toMatchObject({ calls: 1 });
    expect(d!.edges.filter((e) => e.from === e.to)).toEqual([]);
    expect(d!.nodes.find((n) => n.id === 'end:voicemail')).toMatchObject({ kind: 'end', depth: 2 });
  });

  it('one diagram per flow; calls without a path draw nothing', () => {
    const diagrams = buildIvrDiagrams([
      { callSid: 'CA1', flow: 'b', path: [prompt('x')] },
      { callSid: 'CA2', flow: 'a', path: [prompt('y')] },
      { callSid: 'CA3', flow: 'c', path: [] },
    ]);
    expect(diagrams.map((d) => d.flow)).toEqual(['a', 'b']);
  });
});
