import { expect } from 'vitest';
import type { App } from '../../src/http/types.ts';
import { junitXml } from './junit-gen.ts';

export const SEED_QUALITY_CONFIG = {
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

/** A project with the seed's quality config, issue #2 with a run and a review, and a manual check. */
export async function seedQualityData(
  app: App,
  auth: Record<string, string>,
  slug: string,
): Promise<{ project: string; issue: number; runId: string }> {
  const base = `/api/v1/orgs/${slug}/projects`;
  const project = 'app';
  expect(
    (
      await app.inject({
        method: 'POST',
        url: base,
        headers: auth,
        payload: { key: project, name: 'App' },
      })
    ).statusCode,
  ).toBe(201);
  expect(
    (
      await app.inject({
        method: 'PUT',
        url: `${base}/${project}/quality-config`,
        headers: auth,
        payload: SEED_QUALITY_CONFIG,
      })
    ).statusCode,
  ).toBe(200);
  const run = await app.inject({
    method: 'POST',
    url: `${base}/${project}/runs?issue=2&commit=c1&branch=main&build=b1`,
    headers: { ...auth, 'content-type': 'application/xml', 'idempotency-key': 'seed' },
    payload: junitXml(10, { failEvery: 5 }),
  });
  expect(run.statusCode).toBe(201);
  const review = await app.inject({
    method: 'PUT',
    url: `${base}/${project}/issues/2/review`,
    headers: auth,
    payload: { verdict: 'conditional_pass', reviewer: 'Code Reviewer' },
  });
  expect(review.statusCode).toBe(200);
  const check = await app.inject({
    method: 'PATCH',
    url: `${base}/${project}/issues/2/criteria/security-kept`,
    headers: auth,
    payload: { checked: true },
  });
  expect(check.statusCode).toBe(200);
  return { project, issue: 2, runId: run.json<{ id: string }>().id };
}
