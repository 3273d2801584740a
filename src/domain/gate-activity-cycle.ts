import type { QualityConfig } from './quality.ts';

/** An activity as the wait graph sees it: what it depends on and which gates it waits for. */
export interface WaitingActivity {
  key: string;
  /** Keys of the activities it waits for. */
  dependsOn: readonly string[];
  /** Keys of the gates it waits for. */
  gates: readonly string[];
}

/**
 * A cycle of waiting between gates and activities, as nodes `gate:<key>` and
 * `activity:<key>`, first node repeated at the end (e.g. `['gate:reliability',
 * 'activity:re-review', 'gate:reliability']`); null when there is none.
 *
 * A gate waits for the gates it requires and for every activity one of its conditions
 * reads (`activity_status`); an activity waits for the activities it depends on and the
 * gates it waits for. A cycle among them can never resolve, so it is refused wherever
 * either side is written (the quality configuration, an activity).
 */
export function findGateActivityCycle(
  config: Pick<QualityConfig, 'gates'>,
  activities: readonly WaitingActivity[],
): string[] | null {
  const edges = new Map<string, string[]>();
  const add = (from: string, to: string) => {
    const list = edges.get(from) ?? [];
    list.push(to);
    edges.set(from, list);
  };
  const roots: string[] = [];
  for (const g of config.gates) {
    const node = `gate:${g.key}`;
    roots.push(node);
    for (const r of g.requires ?? []) add(node, `gate:${r}`);
    for (const c of g.conditions)
      if (c.metric === 'activity_status' && typeof c.activity === 'string')
        add(node, `activity:${c.activity}`);
  }
  for (const a of activities) {
    const node = `activity:${a.key}`;
    roots.push(node);
    for (const d of a.dependsOn) add(node, `activity:${d}`);
    for (const g of a.gates) add(node, `gate:${g}`);
  }

  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  // Iterative depth-first search: a long chain of activities must not overflow the call stack.
  for (const root of roots) {
    if (state.has(root)) continue;
    const frames: { node: string; next: number }[] = [{ node: root, next: 0 }];
    state.set(root, 'visiting');
    stack.push(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const out = edges.get(frame.node) ?? [];
      if (frame.next < out.length) {
        const to = out[frame.next++]!;
        const seen = state.get(to);
        if (seen === 'visiting') return [...stack.slice(stack.indexOf(to)), to];
        if (seen === undefined) {
          state.set(to, 'visiting');
          stack.push(to);
          frames.push({ node: to, next: 0 });
        }
      } else {
        state.set(frame.node, 'done');
        stack.pop();
        frames.pop();
      }
    }
  }
  return null;
}

/** A cycle as a person reads it: "gate:reliability → activity:re-review → gate:reliability". */
export function describeCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}
