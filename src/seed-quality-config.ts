import type { QualityConfig } from './domain/quality.ts';

/**
 * The quality configuration of the QA escalation report Gatehouse was designed from
 * (../shared/seed): JWT and database root causes, the four gates and the success criteria.
 */
export const SEED_QUALITY_CONFIG: QualityConfig = {
  categories: [
    {
      name: 'jwt',
      label: 'JWT token structure',
      blocking: true,
      match: { message: '(?i)jwt|token (structure|claim|signature)' },
    },
    {
      name: 'database',
      label: 'Database connectivity',
      blocking: true,
      match: { message: '(?i)ECONNREFUSED|connection (pool|terminated|timeout)' },
    },
    { name: 'security', label: 'Security', match: { classname: '(?i)security' } },
  ],
  gates: [
    {
      key: 'security',
      name: 'Security Implementation Gate',
      conditions: [
        { metric: 'failed_in_category', category: 'security', op: '==', value: 0 },
        { metric: 'review_verdict', op: 'in', value: ['pass', 'conditional_pass'] },
      ],
    },
    {
      key: 'infrastructure',
      name: 'Infrastructure Stability Gate',
      conditions: [
        { metric: 'failed_in_category', category: ['jwt', 'database'], op: '==', value: 0 },
      ],
    },
    {
      key: 'reliability',
      name: 'Test Reliability Gate',
      requires: ['infrastructure'],
      conditions: [
        { metric: 'pass_rate', op: '>=', value: 0.9 },
        { metric: 'tests_total', op: '>=', value: 60 },
        { metric: 'flaky_tests', op: '==', value: 0 },
      ],
    },
    {
      key: 'production',
      name: 'Production Readiness Gate',
      requires: ['security', 'infrastructure', 'reliability'],
      conditions: [{ metric: 'review_verdict', op: 'in', value: ['pass', 'conditional_pass'] }],
    },
  ],
  criteria: [
    { key: 'jwt-fixed', text: 'JWT token issues resolved', gate: 'infrastructure' },
    { key: 'pass-rate', text: 'Test pass rate >90% (54+ of 60)', gate: 'reliability' },
    { key: 'security-kept', text: 'Security standards maintained', manual: true },
  ],
};
