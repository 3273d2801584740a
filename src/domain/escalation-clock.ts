/**
 * An escalation's response clocks, as incident tools keep them: a target to acknowledge and
 * a target to answer, both counted from when it was raised; time spent waiting on the
 * requester (paused) does not count; an unacknowledged escalation past its target moves up
 * the project's chain, and with nobody above it is breached, as is an answer past its
 * target. Pure: every function takes the time it is asked about.
 */

export type EscalationStatus = 'open' | 'acknowledged' | 'answered' | 'resolved';
export type EscalationAction = 'acknowledge' | 'answer' | 'resolve' | 'pause' | 'resume';
export type ClockTarget = 'ack' | 'answer';

/** One level of a project's escalation chain. */
export interface ChainLevel {
  role: string;
  ackWithinHours: number;
}

/** The part of an escalation the clocks read and move. */
export interface EscalationClock {
  status: EscalationStatus;
  role: string;
  /** Position of `role` in the chain (0 = first level), 0 when the role is not on it. */
  level: number;
  memberId: string | null;
  ackDueAt: Date;
  answerDueAt: Date;
  pausedAt: Date | null;
  pausedSeconds: number;
  acknowledgedAt: Date | null;
  answeredAt: Date | null;
  resolvedAt: Date | null;
  breachedAt: Date | null;
}

/** What the clock did when it ran; `at` is the deadline that passed, not when it was noticed. */
export type ClockStep =
  | { kind: 'level_up'; at: Date; from: string; to: string; level: number; ackDueAt: Date }
  | { kind: 'breached'; at: Date; target: ClockTarget; role: string };

export const DEFAULT_ACK_HOURS = 24;
export const DEFAULT_ANSWER_HOURS = 72;

const HOUR_MS = 3_600_000;

export function addHours(at: Date, hours: number): Date {
  return new Date(at.getTime() + hours * HOUR_MS);
}

/** The chain level of `role`, if the role is on the chain. */
export function levelOf(chain: readonly ChainLevel[], role: string): number | undefined {
  const i = chain.findIndex((l) => l.role === role);
  return i < 0 ? undefined : i;
}

/** Who comes after `role` on the chain; nobody after the last level or off the chain. */
export function nextLevel(
  chain: readonly ChainLevel[],
  role: string,
): (ChainLevel & { level: number }) | undefined {
  const i = levelOf(chain, role);
  if (i === undefined) return undefined;
  const next = chain[i + 1];
  return next === undefined ? undefined : { ...next, level: i + 1 };
}

/**
 * The response targets of a new escalation: the hours given, else the acknowledge time of
 * the role's level on the chain (or of the chain's first level), else 24 h to acknowledge;
 * 72 h to answer, never less than the time to acknowledge.
 */
export function responseTargets(
  chain: readonly ChainLevel[],
  role: string,
  given: { ackWithinHours?: number | undefined; answerWithinHours?: number | undefined },
): { ackWithinHours: number; answerWithinHours: number } {
  const level = levelOf(chain, role);
  const ackWithinHours =
    given.ackWithinHours ??
    (level === undefined ? undefined : chain[level]?.ackWithinHours) ??
    chain[0]?.ackWithinHours ??
    DEFAULT_ACK_HOURS;
  const answerWithinHours =
    given.answerWithinHours ?? Math.max(DEFAULT_ANSWER_HOURS, ackWithinHours);
  return { ackWithinHours, answerWithinHours };
}

/** A new escalation's clock, raised at `now`. */
export function startClock(
  chain: readonly ChainLevel[],
  input: {
    role: string;
    memberId: string | null;
    ackWithinHours: number;
    answerWithinHours: number;
  },
  now: Date,
): EscalationClock {
  return {
    status: 'open',
    role: input.role,
    level: levelOf(chain, input.role) ?? 0,
    memberId: input.memberId,
    ackDueAt: addHours(now, input.ackWithinHours),
    answerDueAt: addHours(now, input.answerWithinHours),
    pausedAt: null,
    pausedSeconds: 0,
    acknowledgedAt: null,
    answeredAt: null,
    resolvedAt: null,
    breachedAt: null,
  };
}

const awaitsAck = (c: EscalationClock) => c.status === 'open';
const awaitsAnswer = (c: EscalationClock) => c.status === 'open' || c.status === 'acknowledged';

/**
 * The next deadline the clock must act on, or null when no clock runs: resolved, answered,
 * paused, or already breached (a breached escalation stays breached; nothing more is
 * scheduled for it). On a tie the acknowledge target comes first.
 */
export function nextDeadline(c: EscalationClock): { target: ClockTarget; at: Date } | null {
  if (c.pausedAt !== null || c.breachedAt !== null || !awaitsAnswer(c)) return null;
  if (awaitsAck(c) && c.ackDueAt.getTime() <= c.answerDueAt.getTime())
    return { target: 'ack', at: c.ackDueAt };
  return { target: 'answer', at: c.answerDueAt };
}

/**
 * Runs the clock up to `now`: every deadline reached (due time <= now) acts in turn. An
 * acknowledge target reached moves the escalation to the chain's next level, whose own
 * acknowledge time counts from the deadline that passed (so a late check grants no extra
 * time); with no next level, and for an answer target reached, it is breached. Running it
 * again at the same `now` does nothing.
 */
export function runClock(
  c: EscalationClock,
  chain: readonly ChainLevel[],
  now: Date,
): { clock: EscalationClock; steps: ClockStep[] } {
  let clock = c;
  const steps: ClockStep[] = [];
  // Roles on a chain are distinct, so each level-up moves strictly up: at most one step per
  // level plus the breach.
  for (let guard = 0; guard <= chain.length + 1; guard++) {
    const due = nextDeadline(clock);
    if (due === null || due.at.getTime() > now.getTime()) break;
    const up = due.target === 'ack' ? nextLevel(chain, clock.role) : undefined;
    if (up !== undefined) {
      const ackDueAt = addHours(clock.ackDueAt, up.ackWithinHours);
      steps.push({
        kind: 'level_up',
        at: due.at,
        from: clock.role,
        to: up.role,
        level: up.level,
        ackDueAt,
      });
      clock = { ...clock, role: up.role, level: up.level, memberId: null, ackDueAt };
      continue;
    }
    steps.push({ kind: 'breached', at: due.at, target: due.target, role: clock.role });
    clock = { ...clock, breachedAt: due.at };
  }
  return { clock, steps };
}

/** Ends a pause: the targets still awaited move later by the time spent paused. */
export function resumeClock(c: EscalationClock, now: Date): EscalationClock {
  if (c.pausedAt === null) return c;
  const ms = Math.max(0, now.getTime() - c.pausedAt.getTime());
  return {
    ...c,
    ackDueAt: awaitsAck(c) ? new Date(c.ackDueAt.getTime() + ms) : c.ackDueAt,
    answerDueAt: awaitsAnswer(c) ? new Date(c.answerDueAt.getTime() + ms) : c.answerDueAt,
    pausedSeconds: c.pausedSeconds + ms / 1000,
    pausedAt: null,
  };
}

/**
 * Seconds left to each target still awaited (negative: past it), frozen while paused;
 * nothing once resolved.
 */
export function remaining(
  c: EscalationClock,
  now: Date,
): { ackSeconds?: number; answerSeconds?: number } {
  if (c.status === 'resolved') return {};
  const from = (c.pausedAt ?? now).getTime();
  const secondsTo = (due: Date) => Math.floor((due.getTime() - from) / 1000);
  return {
    ...(awaitsAck(c) ? { ackSeconds: secondsTo(c.ackDueAt) } : {}),
    ...(awaitsAnswer(c) ? { answerSeconds: secondsTo(c.answerDueAt) } : {}),
  };
}

export type ActionOutcome = { ok: true; clock: EscalationClock } | { ok: false; conflict: string };

/**
 * Applies a person's move to a clock already run up to `now`. Acknowledge only when open;
 * answer when open or acknowledged (answering acknowledges too, and ends a pause); resolve
 * any time before resolved (ends a pause); pause only while a response clock runs and it is
 * not paused; resume only when paused. A move that makes no sense says why, naming the
 * state.
 */
export function applyAction(
  c: EscalationClock,
  action: EscalationAction,
  now: Date,
): ActionOutcome {
  const refuse = (why: string): ActionOutcome => ({ ok: false, conflict: why });
  switch (action) {
    case 'acknowledge':
      if (c.status !== 'open')
        return refuse(`The escalation is ${c.status}; only an open escalation can be acknowledged`);
      return { ok: true, clock: { ...c, status: 'acknowledged', acknowledgedAt: now } };
    case 'answer': {
      if (!awaitsAnswer(c))
        return refuse(
          `The escalation is ${c.status}; only an open or acknowledged escalation can be answered`,
        );
      const running = resumeClock(c, now);
      return {
        ok: true,
        clock: {
          ...running,
          status: 'answered',
          acknowledgedAt: running.acknowledgedAt ?? now,
          answeredAt: now,
        },
      };
    }
    case 'resolve':
      if (c.status === 'resolved') return refuse('The escalation is already resolved');
      return { ok: true, clock: { ...resumeClock(c, now), status: 'resolved', resolvedAt: now } };
    case 'pause':
      if (c.pausedAt !== null) return refuse('The escalation is already paused');
      if (!awaitsAnswer(c))
        return refuse(`The escalation is ${c.status}; no response clock runs to pause`);
      return { ok: true, clock: { ...c, pausedAt: now } };
    case 'resume':
      if (c.pausedAt === null) return refuse('The escalation is not paused');
      return { ok: true, clock: resumeClock(c, now) };
  }
}
