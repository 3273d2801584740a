/** An activity's status; `done` activities leave the schedule. */
export const ACTIVITY_STATUSES = [
  'pending',
  'ready',
  'waiting',
  'in_progress',
  'done',
  'blocked',
] as const;
export type ActivityStatus = (typeof ACTIVITY_STATUSES)[number];

const DAY_MS = 86_400_000;
/** Slack below this many days is zero: the activity is on the critical path. */
const EPSILON = 1e-9;

/** An activity as the schedule sees it. Durations are in calendar days (24 h, UTC). */
export interface ScheduleActivity {
  key: string;
  status: ActivityStatus;
  minDays: number;
  maxDays: number;
  /** The most likely duration; (min + max) / 2 when not given. */
  likelyDays?: number | null;
  /** Keys of activities of the same issue that must be done before this one starts. */
  dependsOn: readonly string[];
  /** When it went in_progress: an activity in progress counts from its actual start. */
  startedAt?: Date | null;
  /** When it was done (the forecast of an issue whose activities are all done). */
  doneAt?: Date | null;
}

export interface ActivitySchedule {
  /** Start and finish if every activity on the way takes its `min`. */
  earliestStart: Date;
  earliestFinish: Date;
  /** Start and finish if every activity on the way takes its `max`. */
  latestStart: Date;
  latestFinish: Date;
  /** PERT: E = (min + 4·likely + max) / 6 and σ = (max − min) / 6. */
  expectedDays: number;
  stdDevDays: number;
  /** Critical-path slack on the expected durations (late start − early start). */
  slackDays: number;
  critical: boolean;
  /** Now is past its latest finish. */
  overdue: boolean;
}

export interface Forecast {
  /** When the open activities are expected to be done (the critical path on E);
   *  when every activity is done, the last one's finish; null without activities. */
  expectedFinish: Date | null;
  /** √Σσ² along the critical path. */
  stdDevDays: number;
  /** Keys of the critical path, first to last (the one with the most variance if several). */
  criticalPath: string[];
  targetDate: string | null;
  /** P(done by the end of targetDate, UTC), normal approximation; null without targetDate. */
  probabilityByTarget: number | null;
}

export interface Schedule {
  /** One entry per open (not done) activity. */
  activities: Map<string, ActivitySchedule>;
  forecast: Forecast;
}

/** Dependencies that go round: `cycle` lists the keys, the first repeated at the end. */
export class DependencyCycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`Activities depend on each other in a cycle: ${cycle.join(' → ')}`);
    this.name = 'DependencyCycleError';
  }
}

/** PERT figures of one duration range. */
export function pert(
  minDays: number,
  maxDays: number,
  likelyDays?: number | null,
): { expectedDays: number; stdDevDays: number } {
  const likely = likelyDays ?? (minDays + maxDays) / 2;
  return {
    expectedDays: (minDays + 4 * likely + maxDays) / 6,
    stdDevDays: (maxDays - minDays) / 6,
  };
}

/**
 * A cycle among activities' `dependsOn` (keys, the first repeated at the end, e.g.
 * `['a', 'b', 'a']`), or null. Keys naming no activity are ignored here.
 */
export function findDependencyCycle(
  activities: readonly { key: string; dependsOn: readonly string[] }[],
): string[] | null {
  const deps = new Map(activities.map((a) => [a.key, a.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const root of deps.keys()) {
    if (state.has(root)) continue;
    // Iterative depth-first search: a long chain must not overflow the call stack.
    const path: string[] = [root];
    const frames: { key: string; next: number }[] = [{ key: root, next: 0 }];
    state.set(root, 'visiting');
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const out = deps.get(frame.key) ?? [];
      if (frame.next < out.length) {
        const to = out[frame.next++]!;
        if (!deps.has(to)) continue;
        const seen = state.get(to);
        if (seen === 'visiting') return [...path.slice(path.indexOf(to)), to];
        if (seen === undefined) {
          state.set(to, 'visiting');
          path.push(to);
          frames.push({ key: to, next: 0 });
        }
      } else {
        state.set(frame.key, 'done');
        path.pop();
        frames.pop();
      }
    }
  }
  return null;
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26; error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

interface Pass {
  /** Days from now (negative: in the past). */
  start: Map<string, number>;
  finish: Map<string, number>;
  /** The finish as successors see it: an open activity is not finished before now. */
  ready: Map<string, number>;
}

/**
 * The schedule at `now`, in calendar days, UTC. Done activities leave it (their
 * dependents no longer wait for them); every other activity starts no earlier than now
 * (one waiting on a gate that has not passed included: a gate has no duration to plan
 * with) and no earlier than the activities it depends on finish, except one in progress,
 * which counts from its actual start; an open activity never finishes before now.
 *
 * Earliest dates are a forward pass with every `min`, latest dates one with every `max`;
 * slack and the critical path come from the forward and backward passes on the expected
 * (PERT) durations. Throws DependencyCycleError on a cycle.
 */
export function computeSchedule(
  activities: readonly ScheduleActivity[],
  opts: { now: Date; targetDate?: string | null },
): Schedule {
  const cycle = findDependencyCycle(activities);
  if (cycle !== null) throw new DependencyCycleError(cycle);
  const { now } = opts;
  const open = activities.filter((a) => a.status !== 'done');
  const openKeys = new Set(open.map((a) => a.key));
  const preds = new Map(
    open.map((a) => [a.key, [...new Set(a.dependsOn)].filter((d) => openKeys.has(d))]),
  );
  const order = topologicalOrder(open, preds);
  const figures = new Map(open.map((a) => [a.key, pert(a.minDays, a.maxDays, a.likelyDays)]));

  const forward = (duration: (a: ScheduleActivity) => number): Pass => {
    const pass: Pass = { start: new Map(), finish: new Map(), ready: new Map() };
    for (const a of order) {
      let start: number;
      if (a.status === 'in_progress' && a.startedAt !== null && a.startedAt !== undefined) {
        start = (a.startedAt.getTime() - now.getTime()) / DAY_MS;
      } else {
        start = 0;
        for (const p of preds.get(a.key)!) start = Math.max(start, pass.ready.get(p)!);
      }
      const finish = start + duration(a);
      pass.start.set(a.key, start);
      pass.finish.set(a.key, finish);
      pass.ready.set(a.key, Math.max(finish, 0));
    }
    return pass;
  };
  const earliest = forward((a) => a.minDays);
  const latest = forward((a) => a.maxDays);
  const expected = forward((a) => figures.get(a.key)!.expectedDays);

  // Backward pass on E: late finish = the earliest late start of its successors, else the end.
  let end = 0;
  for (const v of expected.ready.values()) end = Math.max(end, v);
  const succs = new Map<string, string[]>(open.map((a) => [a.key, []]));
  for (const [key, ps] of preds) for (const p of ps) succs.get(p)!.push(key);
  const lateStart = new Map<string, number>();
  const slack = new Map<string, number>();
  for (const a of [...order].reverse()) {
    let lateFinish = end;
    for (const s of succs.get(a.key)!) lateFinish = Math.min(lateFinish, lateStart.get(s)!);
    const span = expected.ready.get(a.key)! - expected.start.get(a.key)!;
    lateStart.set(a.key, lateFinish - span);
    slack.set(a.key, lateFinish - expected.ready.get(a.key)!);
  }

  const at = (days: number) => new Date(now.getTime() + Math.round(days * DAY_MS));
  const result = new Map<string, ActivitySchedule>();
  for (const a of order) {
    const s = slack.get(a.key)!;
    const latestFinish = at(latest.finish.get(a.key)!);
    result.set(a.key, {
      earliestStart: at(earliest.start.get(a.key)!),
      earliestFinish: at(earliest.finish.get(a.key)!),
      latestStart: at(latest.start.get(a.key)!),
      latestFinish,
      ...figures.get(a.key)!,
      slackDays: s < EPSILON ? 0 : round(s, 6),
      critical: s < EPSILON,
      overdue: now.getTime() > latestFinish.getTime(),
    });
  }

  return {
    activities: result,
    forecast: forecastOf(activities, {
      now,
      order,
      preds,
      expected,
      end,
      slack,
      figures,
      targetDate: opts.targetDate ?? null,
    }),
  };
}

function forecastOf(
  activities: readonly ScheduleActivity[],
  s: {
    now: Date;
    order: ScheduleActivity[];
    preds: Map<string, string[]>;
    expected: Pass;
    end: number;
    slack: Map<string, number>;
    figures: Map<string, { expectedDays: number; stdDevDays: number }>;
    targetDate: string | null;
  },
): Forecast {
  const { now, targetDate } = s;
  const targetEnd = targetDate === null ? null : Date.parse(`${targetDate}T00:00:00Z`) + DAY_MS;
  if (s.order.length === 0) {
    // Nothing open: the activities finished when the last one did.
    const doneAt = activities
      .map((a) => a.doneAt?.getTime())
      .filter((t): t is number => t !== undefined);
    const finish = doneAt.length === 0 ? null : new Date(Math.max(...doneAt));
    return {
      expectedFinish: finish,
      stdDevDays: 0,
      criticalPath: [],
      targetDate,
      probabilityByTarget:
        targetEnd === null || finish === null ? null : finish.getTime() <= targetEnd ? 1 : 0,
    };
  }

  // Along zero-slack links (a critical predecessor that finishes exactly when its successor
  // starts), the chain with the most variance ending at the end of the schedule.
  const variance = new Map<string, { v: number; prev: string | null }>();
  const tight = (a: number, b: number) => Math.abs(a - b) < 1e-7;
  for (const a of s.order) {
    if (s.slack.get(a.key)! >= EPSILON) continue;
    const own = s.figures.get(a.key)!.stdDevDays ** 2;
    let best: { v: number; prev: string | null } = { v: own, prev: null };
    for (const p of s.preds.get(a.key)!) {
      const pv = variance.get(p);
      if (pv === undefined || !tight(s.expected.ready.get(p)!, s.expected.start.get(a.key)!))
        continue;
      if (own + pv.v > best.v || best.prev === null) best = { v: own + pv.v, prev: p };
    }
    variance.set(a.key, best);
  }
  let last: string | null = null;
  for (const [key, { v }] of variance)
    if (
      tight(s.expected.ready.get(key)!, s.end) &&
      // On a tie the later in topological order: the chain's end rather than its middle.
      (last === null || v >= variance.get(last)!.v)
    )
      last = key;
  const path: string[] = [];
  for (let k = last; k !== null; k = variance.get(k)!.prev) path.unshift(k);
  const sigma = last === null ? 0 : Math.sqrt(variance.get(last)!.v);

  let probability: number | null = null;
  if (targetEnd !== null) {
    const days = (targetEnd - now.getTime()) / DAY_MS;
    probability =
      sigma < EPSILON ? (s.end <= days + EPSILON ? 1 : 0) : normalCdf((days - s.end) / sigma);
    probability = round(probability, 4);
  }
  return {
    expectedFinish: new Date(now.getTime() + Math.round(s.end * DAY_MS)),
    stdDevDays: round(sigma, 6),
    criticalPath: path,
    targetDate,
    probabilityByTarget: probability,
  };
}

function topologicalOrder(
  open: readonly ScheduleActivity[],
  preds: Map<string, string[]>,
): ScheduleActivity[] {
  const byKey = new Map(open.map((a) => [a.key, a]));
  const waiting = new Map(open.map((a) => [a.key, preds.get(a.key)!.length]));
  const succs = new Map<string, string[]>(open.map((a) => [a.key, []]));
  for (const [key, ps] of preds) for (const p of ps) succs.get(p)!.push(key);
  // Kahn's algorithm, in the activities' own order where the graph leaves a choice.
  const queue = open.filter((a) => waiting.get(a.key) === 0).map((a) => a.key);
  const out: ScheduleActivity[] = [];
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i]!;
    out.push(byKey.get(key)!);
    for (const s of succs.get(key)!) {
      const n = waiting.get(s)! - 1;
      waiting.set(s, n);
      if (n === 0) queue.push(s);
    }
  }
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
