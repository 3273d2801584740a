import { describe, expect, it } from 'vitest';
import { METRIC_KINDS } from './gates.ts';
import { validateConfig, type Condition, type QualityConfig } from './quality.ts';

const withConditions = (...conditions: Condition[]): QualityConfig => ({
  categories: [],
  gates: [{ key: 'g', name: 'G', conditions }],
  criteria: [],
});
const errorsOf = (...conditions: Condition[]) =>
  validateConfig(withConditions(...conditions), METRIC_KINDS).map((e) => `${e.path}: ${e.message}`);

describe('condition values', () => {
  it('takes rates as fractions from 0 to 1, refusing 90 for 90%', () => {
    expect(errorsOf({ metric: 'pass_rate', op: '>=', value: 0.9 })).toEqual([]);
    expect(errorsOf({ metric: 'pass_rate', op: '>=', value: 0 })).toEqual([]);
    expect(errorsOf({ metric: 'pass_rate', op: '==', value: 1 })).toEqual([]);
    expect(errorsOf({ metric: 'pass_rate', op: '>=', value: 90 })).toEqual([
      'body/gates/0/conditions/0/value: must be a fraction between 0 and 1 (0.9 for 90%) for pass_rate, not 90',
    ]);
    expect(errorsOf({ metric: 'pass_rate', op: 'in', value: [0.5, -0.1] })).toEqual([
      'body/gates/0/conditions/0/value: must be a fraction between 0 and 1 (0.9 for 90%) for pass_rate, not -0.1',
    ]);
  });

  it('takes counts as whole numbers from 0', () => {
    expect(errorsOf({ metric: 'open_risks', op: '==', value: 0 })).toEqual([]);
    expect(errorsOf({ metric: 'tests_total', op: '>=', value: 500 })).toEqual([]);
    expect(errorsOf({ metric: 'flaky_tests', op: '<=', value: -1 })).toEqual([
      'body/gates/0/conditions/0/value: must be a whole number, 0 or more, for flaky_tests, not -1',
    ]);
    expect(errorsOf({ metric: 'regressions', op: '<', value: 0.5 })).toEqual([
      'body/gates/0/conditions/0/value: must be a whole number, 0 or more, for regressions, not 0.5',
    ]);
  });

  it('names the verdict given when it is not one of the list, and refuses an unknown status', () => {
    expect(errorsOf({ metric: 'review_verdict', op: '==', value: 'conditional pass' })).toEqual([
      'body/gates/0/conditions/0/value: must be pass, conditional_pass or fail, not "conditional pass"',
    ]);
    expect(
      errorsOf({ metric: 'review_verdict', op: 'in', value: ['pass', 'conditional_pass'] }),
    ).toEqual([]);
    expect(
      errorsOf({ metric: 'activity_status', activity: 'a', op: '==', value: 'finished' }),
    ).toEqual([
      'body/gates/0/conditions/0/value: must be an activity status (pending, ready, waiting, in_progress, done, blocked)',
    ]);
  });

  it('checks a criterion condition the same way', () => {
    const config: QualityConfig = {
      categories: [],
      gates: [],
      criteria: [
        {
          key: 'c',
          text: 'Most tests pass',
          condition: { metric: 'pass_rate', op: '>=', value: 95 },
        },
      ],
    };
    expect(validateConfig(config, METRIC_KINDS)).toEqual([
      {
        path: 'body/criteria/0/condition/value',
        message: 'must be a fraction between 0 and 1 (0.9 for 90%) for pass_rate, not 95',
      },
    ]);
  });

  it('accepts a configuration without gates', () => {
    expect(validateConfig({ categories: [], gates: [], criteria: [] }, METRIC_KINDS)).toEqual([]);
  });
});
