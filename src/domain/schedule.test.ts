import { describe, expect, it } from 'vitest';
import {
  computeSchedule,
  DependencyCycleError,
  findDependencyCycle,
  normalCdf,
  pert,
  type ScheduleActivity,
} from './schedule.ts';

const NOW = new Date('2025-08-12T09:00:00.000Z');
const DAY = 86_400_000;
const day = (n: number) => new Date(NOW.getTime() + n * DAY);

function act(
  key: string,
  min: number,
  max: number,
  extra: Partial<ScheduleActivity> = {},
): ScheduleActivity {
  return { key, status: 'pending', minDays: min, maxDays: max, dependsOn: [], ...extra };
}

/** The seed's plan: the architect's analysis (1-2 days), then the developer (1-2 days after
 *  it), then the re-review (1 day after the developer). */
const seedPlan = () => [
  act('ta-analysis', 1, 2, { status: 'waiting' }),
  act('implementation', 1, 2, { dependsOn: ['ta-analysis'] }),
  act('re-review', 1, 1, { dependsOn: ['implementation'] }),
];

describe('PERT figures', () => {
  it('takes E = (min + 4·likely + max) / 6 and σ = (max − min) / 6', () => {
    expect(pert(2, 8, 2)).toEqual({ expectedDays: 3, stdDevDays: 1 });
    expect(pert(1, 4, 1)).toEqual({ expectedDays: 1.5, stdDevDays: 0.5 });
  });

  it('defaults likely to the middle of the range', () => {
    expect(pert(1, 2)).toEqual({ expectedDays: 1.5, stdDevDays: 1 / 6 });
    expect(pert(3, 3, null)).toEqual({ expectedDays: 3, stdDevDays: 0 });
  });

  it('has a normal distribution function accurate to the fifth decimal', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1)).toBeCloseTo(0.841345, 5);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
    expect(normalCdf(3)).toBeCloseTo(0.99865, 5);
  });
});

describe('a chain of activities (the seed plan)', () => {
  const s = computeSchedule(seedPlan(), { now: NOW });

  it('gives earliest dates with every min and latest dates with every max', () => {
    expect(s.activities.get('ta-analysis')).toMatchObject({
      earliestStart: day(0),
      earliestFinish: day(1),
      latestStart: day(0),
      latestFinish: day(2),
    });
    expect(s.activities.get('implementation')).toMatchObject({
      earliestStart: day(1),
      earliestFinish: day(2),
      latestStart: day(2),
      latestFinish: day(4),
    });
    expect(s.activities.get('re-review')).toMatchObject({
      earliestStart: day(2),
      earliestFinish: day(3),
      latestStart: day(4),
      latestFinish: day(5),
    });
  });

  it('puts every activity of a single chain on the critical path with zero slack', () => {
    for (const a of s.activities.values())
      expect(a).toMatchObject({ slackDays: 0, critical: true });
    expect(s.forecast.criticalPath).toEqual(['ta-analysis', 'implementation', 're-review']);
  });

  it('forecasts the sum of E along the path with σ = √Σσ²', () => {
    // 1.5 + 1.5 + 1 days; σ = √(1/36 + 1/36 + 0)
    expect(s.forecast.expectedFinish).toEqual(day(4));
    expect(s.forecast.stdDevDays).toBeCloseTo(Math.sqrt(2) / 6, 6);
    expect(s.forecast.probabilityByTarget).toBeNull();
  });

  it('gives the probability of finishing by the end of the target date', () => {
    // The end of 16 August is 4.625 days after 12 August 09:00: z = 0.625 / 0.2357 = 2.652.
    const by16 = computeSchedule(seedPlan(), { now: NOW, targetDate: '2025-08-16' }).forecast;
    expect(by16.targetDate).toBe('2025-08-16');
    expect(by16.probabilityByTarget).toBeCloseTo(0.996, 3);
    // The end of 15 August is 3.625 days away: z = −0.375 / 0.2357 = −1.591.
    const by15 = computeSchedule(seedPlan(), { now: NOW, targetDate: '2025-08-15' }).forecast;
    expect(by15.probabilityByTarget).toBeCloseTo(0.0558, 3);
  });

  it('answers 1 or 0 when the critical path has no spread', () => {
    const fixed = [act('a', 2, 2), act('b', 1, 1, { dependsOn: ['a'] })];
    expect(
      computeSchedule(fixed, { now: NOW, targetDate: '2025-08-14' }).forecast.probabilityByTarget,
    ).toBe(0);
    expect(
      computeSchedule(fixed, { now: NOW, targetDate: '2025-08-15' }).forecast.probabilityByTarget,
    ).toBe(1);
  });
});

describe('a diamond', () => {
  // a (2-4, likely 3) → b (1) and c (2-8, likely 2) → d (0.5)
  const plan = [
    act('a', 2, 4, { likelyDays: 3 }),
    act('b', 1, 1, { dependsOn: ['a'] }),
    act('c', 2, 8, { likelyDays: 2, dependsOn: ['a'] }),
    act('d', 0.5, 0.5, { dependsOn: ['b', 'c'] }),
  ];
  const s = computeSchedule(plan, { now: NOW });

  it('joins at the later of its two branches in each pass', () => {
    expect(s.activities.get('d')).toMatchObject({
      earliestStart: day(4),
      earliestFinish: day(4.5),
      latestStart: day(12),
      latestFinish: day(12.5),
    });
  });

  it('gives the short branch its slack on the expected durations', () => {
    // E: a 0-3, b 3-4, c 3-6, d 6-6.5: b may start as late as 5.
    expect(s.activities.get('b')).toMatchObject({ slackDays: 2, critical: false });
    for (const k of ['a', 'c', 'd'])
      expect(s.activities.get(k)).toMatchObject({ slackDays: 0, critical: true });
    expect(s.activities.get('c')!.expectedDays).toBe(3);
  });

  it('forecasts along the critical branch only', () => {
    expect(s.forecast.criticalPath).toEqual(['a', 'c', 'd']);
    expect(s.forecast.expectedFinish).toEqual(day(6.5));
    expect(s.forecast.stdDevDays).toBeCloseTo(Math.sqrt(1 / 9 + 1), 6);
  });

  it('takes the path with the most variance when two are critical', () => {
    const two = [act('x', 1, 3), act('y', 2, 2), act('z', 0, 0, { dependsOn: ['x', 'y'] })];
    const f = computeSchedule(two, { now: NOW }).forecast;
    expect(f.criticalPath).toEqual(['x', 'z']);
    expect(f.stdDevDays).toBeCloseTo(1 / 3, 6);
  });
});

describe('cycles', () => {
  it('names the cycle', () => {
    const plan = [
      act('a', 1, 1, { dependsOn: ['c'] }),
      act('b', 1, 1, { dependsOn: ['a'] }),
      act('c', 1, 1, { dependsOn: ['b'] }),
    ];
    expect(findDependencyCycle(plan)).toEqual(['a', 'c', 'b', 'a']);
    expect(() => computeSchedule(plan, { now: NOW })).toThrow(DependencyCycleError);
    expect(() => computeSchedule(plan, { now: NOW })).toThrow('a → c → b → a');
  });

  it('refuses an activity that depends on itself, and a cycle through done activities', () => {
    expect(findDependencyCycle([act('a', 1, 1, { dependsOn: ['a'] })])).toEqual(['a', 'a']);
    expect(
      findDependencyCycle([
        act('a', 1, 1, { status: 'done', dependsOn: ['b'] }),
        act('b', 1, 1, { dependsOn: ['a'] }),
      ]),
    ).toEqual(['a', 'b', 'a']);
  });

  it('finds none in a diamond, a long chain, or with unknown keys', () => {
    expect(
      findDependencyCycle([
        act('a', 1, 1),
        act('b', 1, 1, { dependsOn: ['a', 'gone'] }),
        act('c', 1, 1, { dependsOn: ['a'] }),
        act('d', 1, 1, { dependsOn: ['b', 'c'] }),
      ]),
    ).toBeNull();
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      act(`k${i}`, 1, 1, { dependsOn: i === 0 ? [] : [`k${i - 1}`] }),
    );
    expect(findDependencyCycle(chain)).toBeNull();
  });
});

describe('progress and time', () => {
  it('counts an activity in progress from its actual start', () => {
    const s = computeSchedule(
      [
        act('x', 1, 2, { status: 'in_progress', startedAt: day(-0.5) }),
        act('y', 1, 1, { dependsOn: ['x'] }),
      ],
      { now: NOW },
    );
    expect(s.activities.get('x')).toMatchObject({
      earliestStart: day(-0.5),
      earliestFinish: day(0.5),
      latestFinish: day(1.5),
      overdue: false,
    });
    expect(s.activities.get('y')).toMatchObject({
      earliestStart: day(0.5),
      latestFinish: day(2.5),
    });
    expect(s.forecast.expectedFinish).toEqual(day(2));
  });

  it('is overdue once now is past its latest finish, and its dependents start no earlier than now', () => {
    const s = computeSchedule(
      [
        act('x', 1, 2, { status: 'in_progress', startedAt: day(-3) }),
        act('y', 1, 1, { dependsOn: ['x'] }),
      ],
      { now: NOW },
    );
    expect(s.activities.get('x')).toMatchObject({
      latestFinish: day(-1),
      overdue: true,
      critical: true,
      slackDays: 0,
    });
    expect(s.activities.get('y')).toMatchObject({
      earliestStart: day(0),
      latestFinish: day(1),
      overdue: false,
    });
    expect(s.forecast.expectedFinish).toEqual(day(1));
    expect(s.forecast.criticalPath).toEqual(['x', 'y']);
  });

  it('slips an activity not started yet: it never starts before now', () => {
    const plan = seedPlan();
    const later = new Date(NOW.getTime() + 10 * DAY);
    const s = computeSchedule(plan, { now: later });
    expect(s.activities.get('ta-analysis')!.earliestStart).toEqual(later);
    expect([...s.activities.values()].some((a) => a.overdue)).toBe(false);
  });

  it('leaves done activities out; their dependents start now', () => {
    const s = computeSchedule(
      [
        act('ta-analysis', 1, 2, { status: 'done', doneAt: day(-1) }),
        act('implementation', 1, 2, { dependsOn: ['ta-analysis'] }),
      ],
      { now: NOW },
    );
    expect([...s.activities.keys()]).toEqual(['implementation']);
    expect(s.activities.get('implementation')!.earliestStart).toEqual(day(0));
  });

  it('forecasts the last finish when everything is done, and nothing without activities', () => {
    const done = computeSchedule(
      [
        act('a', 1, 2, { status: 'done', doneAt: day(-2) }),
        act('b', 1, 2, { status: 'done', doneAt: day(-1) }),
      ],
      { now: NOW, targetDate: '2025-08-11' },
    );
    expect(done.forecast).toMatchObject({
      expectedFinish: day(-1),
      stdDevDays: 0,
      probabilityByTarget: 1,
    });
    expect(computeSchedule([], { now: NOW }).forecast.expectedFinish).toBeNull();
  });
});
