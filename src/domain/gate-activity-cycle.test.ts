import { describe, expect, it } from 'vitest';
import { SEED_QUALITY_CONFIG } from '../seed-quality-config.ts';
import { describeCycle, findGateActivityCycle } from './gate-activity-cycle.ts';
import type { QualityConfig } from './quality.ts';

const withReReview: QualityConfig = {
  ...SEED_QUALITY_CONFIG,
  gates: SEED_QUALITY_CONFIG.gates.map((g) =>
    g.key === 'reliability'
      ? {
          ...g,
          conditions: [
            ...g.conditions,
            { metric: 'activity_status', activity: 're-review', op: '==', value: 'done' },
          ],
        }
      : g,
  ),
};

const activity = (key: string, dependsOn: string[] = [], gates: string[] = []) => ({
  key,
  dependsOn,
  gates,
});

describe('cycles between gates and activities', () => {
  it('finds none in the seed: activities wait on each other and on gates that read no activity', () => {
    expect(
      findGateActivityCycle(SEED_QUALITY_CONFIG, [
        activity('ta-analysis'),
        activity('dev-impl', ['ta-analysis']),
        activity('re-review', ['dev-impl'], ['reliability']),
      ]),
    ).toBeNull();
  });

  it('names a gate that reads an activity waiting for that same gate', () => {
    const cycle = findGateActivityCycle(withReReview, [activity('re-review', [], ['reliability'])]);
    expect(cycle).toEqual(['gate:reliability', 'activity:re-review', 'gate:reliability']);
    expect(describeCycle(cycle!)).toBe('gate:reliability → activity:re-review → gate:reliability');
  });

  it('follows requires and activity dependencies', () => {
    // production requires reliability, which reads re-review, which depends on sign-off,
    // which waits for production.
    expect(
      findGateActivityCycle(withReReview, [
        activity('sign-off', [], ['production']),
        activity('re-review', ['sign-off']),
      ]),
    ).toEqual([
      'gate:reliability',
      'activity:re-review',
      'activity:sign-off',
      'gate:production',
      'gate:reliability',
    ]);
  });

  it('finds a cycle among activities alone', () => {
    expect(
      findGateActivityCycle({ gates: [] }, [activity('a', ['b']), activity('b', ['a'])]),
    ).toEqual(['activity:a', 'activity:b', 'activity:a']);
  });

  it('is not fooled by a gate reading an activity that waits for another gate', () => {
    expect(
      findGateActivityCycle(withReReview, [activity('re-review', [], ['security'])]),
    ).toBeNull();
  });

  it('walks a chain of 20,000 activities without overflowing the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      activity(`a${i}`, i === 0 ? [] : [`a${i - 1}`]),
    );
    expect(findGateActivityCycle({ gates: [] }, chain)).toBeNull();
    chain[0] = activity('a0', ['a19999']);
    expect(findGateActivityCycle({ gates: [] }, chain)).toHaveLength(20_001);
  });
});
