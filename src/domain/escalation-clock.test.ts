import { describe, expect, it } from 'vitest';
import {
  addHours,
  applyAction,
  nextDeadline,
  nextLevel,
  remaining,
  responseTargets,
  runClock,
  startClock,
  type ChainLevel,
  type EscalationClock,
} from './escalation-clock.ts';

const T0 = new Date('2025-08-12T09:00:00Z');
const at = (hours: number) => addHours(T0, hours);
const CHAIN: ChainLevel[] = [
  { role: 'architect', ackWithinHours: 4 },
  { role: 'admin', ackWithinHours: 2 },
  { role: 'owner', ackWithinHours: 1 },
];

function raised(
  role = 'architect',
  hours = { ackWithinHours: 4, answerWithinHours: 48 },
): EscalationClock {
  return startClock(CHAIN, { role, memberId: 'm1', ...hours }, T0);
}

function act(c: EscalationClock, action: Parameters<typeof applyAction>[1], now: Date) {
  const out = applyAction(c, action, now);
  if (!out.ok) throw new Error(out.conflict);
  return out.clock;
}

describe('response targets', () => {
  it('takes the hours given, else the role’s level on the chain, else the first level, else 24/72 h', () => {
    expect(responseTargets(CHAIN, 'admin', { ackWithinHours: 1, answerWithinHours: 5 })).toEqual({
      ackWithinHours: 1,
      answerWithinHours: 5,
    });
    expect(responseTargets(CHAIN, 'admin', {})).toEqual({
      ackWithinHours: 2,
      answerWithinHours: 72,
    });
    expect(responseTargets(CHAIN, 'developer', {})).toEqual({
      ackWithinHours: 4,
      answerWithinHours: 72,
    });
    expect(responseTargets([], 'developer', {})).toEqual({
      ackWithinHours: 24,
      answerWithinHours: 72,
    });
    expect(responseTargets([], 'developer', { ackWithinHours: 100 }).answerWithinHours).toBe(100);
  });

  it('counts both targets from when the escalation was raised, at its level on the chain', () => {
    const c = raised('admin');
    expect(c).toMatchObject({ status: 'open', level: 1, ackDueAt: at(4), answerDueAt: at(48) });
    expect(raised('developer').level).toBe(0);
  });
});

describe('the chain', () => {
  it('names the level after a role, and nobody after the last level or off the chain', () => {
    expect(nextLevel(CHAIN, 'architect')).toEqual({ role: 'admin', ackWithinHours: 2, level: 1 });
    expect(nextLevel(CHAIN, 'owner')).toBeUndefined();
    expect(nextLevel(CHAIN, 'developer')).toBeUndefined();
  });
});

describe('running the clock', () => {
  it('does nothing before the first deadline, and schedules acknowledge before answer', () => {
    const c = raised();
    expect(runClock(c, CHAIN, at(3.99))).toEqual({ clock: c, steps: [] });
    expect(nextDeadline(c)).toEqual({ target: 'ack', at: at(4) });
    expect(nextDeadline(act(c, 'acknowledge', at(1)))).toEqual({ target: 'answer', at: at(48) });
  });

  it('moves an unacknowledged escalation up one level when its target is reached', () => {
    const { clock, steps } = runClock(raised(), CHAIN, at(4));
    expect(steps).toEqual([
      { kind: 'level_up', at: at(4), from: 'architect', to: 'admin', level: 1, ackDueAt: at(6) },
    ]);
    expect(clock).toMatchObject({ role: 'admin', level: 1, memberId: null, ackDueAt: at(6) });
    expect(clock.breachedAt).toBeNull();
  });

  it('counts each level from the deadline that passed, so a late check climbs every level and breaches at the top', () => {
    const { clock, steps } = runClock(raised(), CHAIN, at(30));
    expect(steps.map((s) => s.kind)).toEqual(['level_up', 'level_up', 'breached']);
    expect(steps[2]).toEqual({ kind: 'breached', at: at(7), target: 'ack', role: 'owner' });
    expect(clock).toMatchObject({ role: 'owner', level: 2, breachedAt: at(7) });
    expect(nextDeadline(clock)).toBeNull();
    expect(runClock(clock, CHAIN, at(100)).steps).toEqual([]);
  });

  it('breaches an unacknowledged escalation with no level above it', () => {
    const { clock, steps } = runClock(raised('developer'), [], at(4));
    expect(steps).toEqual([{ kind: 'breached', at: at(4), target: 'ack', role: 'developer' }]);
    expect(clock.breachedAt).toEqual(at(4));
  });

  it('breaches an acknowledged escalation whose answer target passes', () => {
    const acked = act(raised(), 'acknowledge', at(1));
    expect(runClock(acked, CHAIN, at(47)).steps).toEqual([]);
    const { clock, steps } = runClock(acked, CHAIN, at(48));
    expect(steps).toEqual([{ kind: 'breached', at: at(48), target: 'answer', role: 'architect' }]);
    expect(clock.breachedAt).toEqual(at(48));
  });

  it('stops while paused and for an answered or resolved escalation', () => {
    expect(runClock(act(raised(), 'pause', at(1)), CHAIN, at(100)).steps).toEqual([]);
    expect(runClock(act(raised(), 'answer', at(1)), CHAIN, at(100)).steps).toEqual([]);
    expect(runClock(act(raised(), 'resolve', at(1)), CHAIN, at(100)).steps).toEqual([]);
  });
});

describe('pausing while waiting on the requester', () => {
  it('shifts every target still awaited by the time paused, and counts it', () => {
    const paused = act(raised(), 'pause', at(1));
    expect(nextDeadline(paused)).toBeNull();
    const resumed = act(paused, 'resume', at(11));
    expect(resumed).toMatchObject({
      pausedAt: null,
      pausedSeconds: 36_000,
      ackDueAt: at(14),
      answerDueAt: at(58),
    });
    const again = act(act(resumed, 'pause', at(12)), 'resume', at(13));
    expect(again).toMatchObject({ pausedSeconds: 39_600, ackDueAt: at(15) });
  });

  it('keeps an acknowledged target where it was', () => {
    const acked = act(raised(), 'acknowledge', at(1));
    const resumed = act(act(acked, 'pause', at(2)), 'resume', at(4));
    expect(resumed).toMatchObject({ ackDueAt: at(4), answerDueAt: at(50) });
  });

  it('freezes the time remaining while paused', () => {
    const paused = act(raised(), 'pause', at(1));
    expect(remaining(paused, at(1))).toEqual({ ackSeconds: 3 * 3600, answerSeconds: 47 * 3600 });
    expect(remaining(paused, at(20))).toEqual({ ackSeconds: 3 * 3600, answerSeconds: 47 * 3600 });
  });

  it('ends the pause on answer or resolve, counting the paused time', () => {
    const answered = act(act(raised(), 'pause', at(1)), 'answer', at(3));
    expect(answered).toMatchObject({ pausedAt: null, pausedSeconds: 7200, answeredAt: at(3) });
    const resolved = act(act(raised(), 'pause', at(1)), 'resolve', at(2));
    expect(resolved).toMatchObject({ pausedAt: null, pausedSeconds: 3600, status: 'resolved' });
  });
});

describe('time remaining', () => {
  it('gives seconds to each target still awaited, negative past it, nothing once resolved', () => {
    const c = raised();
    expect(remaining(c, at(1))).toEqual({ ackSeconds: 3 * 3600, answerSeconds: 47 * 3600 });
    expect(remaining(c, at(5))).toEqual({ ackSeconds: -3600, answerSeconds: 43 * 3600 });
    expect(remaining(act(c, 'acknowledge', at(1)), at(2))).toEqual({ answerSeconds: 46 * 3600 });
    expect(remaining(act(c, 'answer', at(1)), at(2))).toEqual({});
    expect(remaining(act(c, 'resolve', at(1)), at(2))).toEqual({});
  });
});

describe('moves', () => {
  it('acknowledges only an open escalation', () => {
    const acked = act(raised(), 'acknowledge', at(1));
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedAt: at(1) });
    expect(applyAction(acked, 'acknowledge', at(2))).toEqual({
      ok: false,
      conflict: 'The escalation is acknowledged; only an open escalation can be acknowledged',
    });
  });

  it('answers an open or acknowledged escalation, acknowledging it too', () => {
    const answered = act(raised(), 'answer', at(2));
    expect(answered).toMatchObject({
      status: 'answered',
      acknowledgedAt: at(2),
      answeredAt: at(2),
    });
    expect(act(act(raised(), 'acknowledge', at(1)), 'answer', at(2)).acknowledgedAt).toEqual(at(1));
    expect(applyAction(answered, 'answer', at(3))).toMatchObject({ ok: false });
  });

  it('resolves any time before resolved', () => {
    for (const c of [raised(), act(raised(), 'acknowledge', at(1)), act(raised(), 'answer', at(1))])
      expect(act(c, 'resolve', at(5))).toMatchObject({ status: 'resolved', resolvedAt: at(5) });
    expect(applyAction(act(raised(), 'resolve', at(1)), 'resolve', at(2))).toEqual({
      ok: false,
      conflict: 'The escalation is already resolved',
    });
  });

  it('pauses only a running clock that is not paused, and resumes only a paused one', () => {
    const paused = act(raised(), 'pause', at(1));
    expect(applyAction(paused, 'pause', at(2))).toEqual({
      ok: false,
      conflict: 'The escalation is already paused',
    });
    expect(applyAction(act(raised(), 'answer', at(1)), 'pause', at(2))).toEqual({
      ok: false,
      conflict: 'The escalation is answered; no response clock runs to pause',
    });
    expect(applyAction(raised(), 'resume', at(2))).toEqual({
      ok: false,
      conflict: 'The escalation is not paused',
    });
  });
});
