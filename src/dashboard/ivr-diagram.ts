/**
 * The paths callers took through a hosted IVR flow, as a small diagram: the steps (and how
 * the calls ended) as nodes, each observed move as an edge with the share of the callers
 * at its source who took it. Built from get_call's ivr_path of each call; pure.
 */

export interface IvrPathEvent {
  step: string | null;
  /** prompt, repeat, answer, no_input, transfer, voicemail, voicemail_recorded, sms, hangup, error */
  event: string;
  digits?: string | null;
}

export interface CallPath {
  callSid: string;
  flow: string;
  path: IvrPathEvent[];
}

export interface DiagramNode {
  id: string;
  label: string;
  kind: 'step' | 'end';
  /** Calls that reached it. */
  calls: number;
  /** Moves from the start step (0 = start); the page draws one column per depth. */
  depth: number;
}

export interface DiagramEdge {
  from: string;
  to: string;
  calls: number;
  /** calls / the calls that reached `from`, rounded to 0.001. */
  share: number;
  /** Keys callers pressed for this move (at most three distinct). */
  digits: string[];
}

export interface IvrDiagram {
  flow: string;
  calls: number;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

/** How a call's way through the flow ended, as an end node. */
const ENDS: Record<string, string> = {
  transfer: 'transferred',
  voicemail: 'voicemail',
  voicemail_recorded: 'voicemail',
  hangup: 'hung up by the flow',
  error: 'error',
};
/** No end event: the caller hung up, or the flow ended the call after a step without a gather. */
const LEFT = 'call ended';

/** One call's walk: the steps in the order it heard them (a repeat is the same step), then its end. */
function walk(path: IvrPathEvent[]): { steps: string[]; end: string; digitsBefore: Map<number, string> } {
  const steps: string[] = [];
  const digitsBefore = new Map<number, string>();
  let end: string | undefined;
  let pendingDigits: string | undefined;
  for (const e of path) {
    if (e.event === 'prompt' && e.step && steps[steps.length - 1] !== e.step) {
      if (pendingDigits !== undefined && steps.length > 0) digitsBefore.set(steps.length, pendingDigits);
      steps.push(e.step);
      pendingDigits = undefined;
    } else if (e.event === 'answer' && e.digits) {
      pendingDigits = e.digits;
    } else if (ENDS[e.event]) {
      end = ENDS[e.event];
      if (pendingDigits !== undefined) digitsBefore.set(steps.length, pendingDigits);
    }
  }
  return { steps, end: end ?? LEFT, digitsBefore };
}

export function buildIvrDiagrams(calls: CallPath[], startOf: (flow: string) => string | undefined = () => undefined): IvrDiagram[] {
  const byFlow = new Map<string, CallPath[]>();
  for (const call of calls) {
    if (call.path.length === 0) continue;
    byFlow.set(call.flow, [...(byFlow.get(call.flow) ?? []), call]);
  }
  return [...byFlow].sort(([a], [b]) => a.localeCompare(b)).map(([flow, flowCalls]) => diagramOf(flow, flowCalls, startOf(flow)));
}

function diagramOf(flow: string, calls: CallPath[], start: string | undefined): IvrDiagram {
  const reached = new Map<string, Set<string>>();
  const moves = new Map<string, { from: string; to: string; calls: Set<string>; digits: Set<string> }>();
  const ends = new Set<string>();
  const reach = (node: string, call: string) => reached.set(node, (reached.get(node) ?? new Set()).add(call));
  for (const call of calls) {
    const { steps, end, digitsBefore } = walk(call.path);
    const endId = `end:${end}`;
    ends.add(endId);
    const nodes = [...steps, endId];
    nodes.forEach((n) => reach(n, call.callSid));
    for (let i = 1; i < nodes.length; i++) {
      const from = nodes[i - 1]!;
      const to = nodes[i]!;
      const key = `${from}\u0000${to}`;
      const move = moves.get(key) ?? { from, to, calls: new Set<string>(), digits: new Set<string>() };
      move.calls.add(call.callSid);
      const digits = digitsBefore.get(i);
      if (digits !== undefined && move.digits.size < 3) move.digits.add(digits);
      moves.set(key, move);
    }
  }
  // Depth: shortest number of observed moves from the start (the flow's, else the most common first step).
  const firsts = new Map<string, number>();
  for (const call of calls) {
    const first = walk(call.path).steps[0];
    if (first) firsts.set(first, (firsts.get(first) ?? 0) + 1);
  }
  const root = start && reached.has(start) ? start : [...firsts].sort((a, b) => b[1] - a[1])[0]?.[0];
  const depth = new Map<string, number>();
  const queue: string[] = [];
  if (root) {
    depth.set(root, 0);
    queue.push(root);
  }
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const move of moves.values()) {
      if (move.from === node && !depth.has(move.to)) {
        depth.set(move.to, depth.get(node)! + 1);
        queue.push(move.to);
      }
    }
  }
  const stepDepths = [...reached.keys()].filter((id) => !ends.has(id)).map((id) => depth.get(id) ?? -1);
  const deepest = Math.max(0, ...stepDepths);
  // A step no walk from the root reaches goes after the others; every end sits in the last column.
  const stepDepth = (id: string) => depth.get(id) ?? deepest + 1;
  const lastColumn = Math.max(0, ...[...reached.keys()].filter((id) => !ends.has(id)).map(stepDepth)) + 1;
  const nodes: DiagramNode[] = [...reached].map(([id, who]) => ({
    id,
    label: ends.has(id) ? id.slice(4) : id,
    kind: ends.has(id) ? 'end' : 'step',
    calls: who.size,
    depth: ends.has(id) ? lastColumn : stepDepth(id),
  }));
  nodes.sort((a, b) => a.depth - b.depth || b.calls - a.calls || a.id.localeCompare(b.id));
  const edges: DiagramEdge[] = [...moves.values()]
    .map((m) => ({ from: m.from, to: m.to, calls: m.calls.size, share: Math.round((m.calls.size / reached.get(m.from)!.size) * 1000) / 1000, digits: [...m.digits].sort() }))
    .sort((a, b) => a.from.localeCompare(b.from) || b.calls - a.calls || a.to.localeCompare(b.to));
  return { flow, calls: calls.length, nodes, edges };
}
