import type { ActivityStatus } from '../../domain/schedule.ts';

// Which status an activity may take, given the others: pure, so the rules are unit-tested
// apart from the database.

/** Statuses that say the activity can start, has started or is finished. */
const GOING: readonly ActivityStatus[] = ['ready', 'in_progress', 'done'];

export interface GraphActivity {
  key: string;
  status: ActivityStatus;
  dependsOn: readonly string[];
}

const list = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');
const isAre = (keys: string[]) => (keys.length === 1 ? 'is' : 'are');

/**
 * Why `next` may not hold its status among `others` (the other activities), or
 * null when it may. Nothing is ready, in progress or done before every activity it depends
 * on is done and every gate it waits for has passed; a done activity is not reopened while
 * one depending on it is in progress or done.
 */
export function statusProblem(
  next: GraphActivity & { gates: readonly string[] },
  previousStatus: ActivityStatus | null,
  others: readonly GraphActivity[],
  passedGates: ReadonlySet<string>,
): string | null {
  const status = next.status;
  if (GOING.includes(status)) {
    const byKey = new Map(others.map((a) => [a.key, a]));
    const undone = next.dependsOn.filter((k) => byKey.get(k)?.status !== 'done');
    if (undone.length > 0)
      return `Activity "${next.key}" cannot be ${status} while ${list(undone)} it depends on ${isAre(undone)} not done`;
    const closed = next.gates.filter((g) => !passedGates.has(g));
    if (closed.length > 0)
      return `Activity "${next.key}" cannot be ${status} while gate ${list(closed)} it waits for ${closed.length === 1 ? 'has' : 'have'} not passed`;
  }
  if (previousStatus === 'done' && status !== 'done') {
    const started = others
      .filter(
        (a) =>
          a.dependsOn.includes(next.key) && (a.status === 'in_progress' || a.status === 'done'),
      )
      .map((a) => a.key);
    if (started.length > 0)
      return `Activity "${next.key}" cannot be reopened while ${list(started)} depending on it ${started.length === 1 ? 'has' : 'have'} started`;
  }
  return null;
}

/** When it started and finished once its status moves from `from` to `to` at `now`. */
export function progressTimes(
  from: ActivityStatus | null,
  to: ActivityStatus,
  times: { startedAt: Date | null; doneAt: Date | null },
  now: Date,
): { startedAt: Date | null; doneAt: Date | null } {
  if (from === to) return times;
  switch (to) {
    case 'in_progress':
      // Back in progress after being blocked or reopened: it still counts from its first start.
      return { startedAt: times.startedAt ?? now, doneAt: null };
    case 'done':
      return { startedAt: times.startedAt ?? now, doneAt: now };
    case 'blocked':
      return { startedAt: times.startedAt, doneAt: null };
    case 'pending':
    case 'ready':
    case 'waiting':
      return { startedAt: null, doneAt: null };
  }
}
