import { describe, expect, it } from 'vitest';
import type { ActivityStatus } from '../../domain/schedule.ts';
import { progressTimes, statusProblem, type GraphActivity } from './activity-rules.ts';

const a = (key: string, status: ActivityStatus, dependsOn: string[] = []): GraphActivity => ({
  key,
  status,
  dependsOn,
});
const NONE = new Set<string>();

describe('status moves', () => {
  const others = [a('ta-analysis', 'waiting'), a('implementation', 'pending', ['ta-analysis'])];

  it('lets nothing start before what it depends on is done', () => {
    for (const status of ['ready', 'in_progress', 'done'] as const)
      expect(
        statusProblem(
          { ...a('implementation', status, ['ta-analysis']), gates: [] },
          'pending',
          others,
          NONE,
        ),
      ).toBe(
        `Activity "implementation" cannot be ${status} while "ta-analysis" it depends on is not done`,
      );
  });

  it('lets it wait, be pending or blocked whatever its dependencies', () => {
    for (const status of ['pending', 'waiting', 'blocked'] as const)
      expect(
        statusProblem(
          { ...a('implementation', status, ['ta-analysis']), gates: [] },
          'ready',
          others,
          NONE,
        ),
      ).toBeNull();
  });

  it('lets it start once every dependency is done', () => {
    const done = [a('ta-analysis', 'done'), a('x', 'done')];
    expect(
      statusProblem(
        { ...a('implementation', 'in_progress', ['ta-analysis', 'x']), gates: [] },
        'pending',
        done,
        NONE,
      ),
    ).toBeNull();
  });

  it('names every dependency not done', () => {
    expect(
      statusProblem(
        { ...a('re-review', 'in_progress', ['a', 'b', 'c']), gates: [] },
        'pending',
        [a('a', 'in_progress'), a('b', 'done'), a('c', 'pending')],
        NONE,
      ),
    ).toBe('Activity "re-review" cannot be in_progress while "a", "c" it depends on are not done');
  });

  it('keeps an activity from starting while a gate it waits for has not passed', () => {
    const next = { ...a('re-review', 'in_progress'), gates: ['reliability'] };
    expect(statusProblem(next, 'pending', [], NONE)).toBe(
      'Activity "re-review" cannot be in_progress while gate "reliability" it waits for has not passed',
    );
    expect(statusProblem(next, 'pending', [], new Set(['reliability']))).toBeNull();
  });

  it('reopens a done activity only while nothing depending on it has started', () => {
    const next = { ...a('ta-analysis', 'in_progress'), gates: [] };
    expect(
      statusProblem(next, 'done', [a('implementation', 'in_progress', ['ta-analysis'])], NONE),
    ).toBe(
      'Activity "ta-analysis" cannot be reopened while "implementation" depending on it has started',
    );
    expect(
      statusProblem(next, 'done', [a('implementation', 'pending', ['ta-analysis'])], NONE),
    ).toBeNull();
  });
});

describe('progress times', () => {
  const now = new Date('2025-08-12T09:00:00Z');
  const earlier = new Date('2025-08-10T09:00:00Z');
  const none = { startedAt: null, doneAt: null };

  it('starts the clock when it goes in progress, and keeps the first start', () => {
    expect(progressTimes('ready', 'in_progress', none, now)).toEqual({
      startedAt: now,
      doneAt: null,
    });
    expect(
      progressTimes('blocked', 'in_progress', { startedAt: earlier, doneAt: null }, now),
    ).toEqual({ startedAt: earlier, doneAt: null });
  });

  it('finishes it when done, and forgets the start when it goes back to waiting', () => {
    expect(progressTimes('in_progress', 'done', { startedAt: earlier, doneAt: null }, now)).toEqual(
      { startedAt: earlier, doneAt: now },
    );
    expect(progressTimes('pending', 'done', none, now)).toEqual({ startedAt: now, doneAt: now });
    expect(
      progressTimes('in_progress', 'waiting', { startedAt: earlier, doneAt: null }, now),
    ).toEqual(none);
  });
});
