import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg } from '../helpers/actors.ts';
import { corpusFile, manifest } from '../helpers/corpus.ts';
import { storedResults } from '../helpers/stored-results.ts';

let t: TestApp;
let ci: { auth: { authorization: string } };

beforeAll(async () => {
  t = await startTestApp();
  const owner = await ownerOfNewOrg(t.app, 'corpus');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/corpus/projects',
    headers: owner.auth,
    payload: { key: 'c', name: 'Corpus' },
  });
  expect(res.statusCode, res.body).toBe(201);
  ci = await apiToken(t.app, owner, 'corpus');
});
afterAll(() => t.close());

const upload = (file: string) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/orgs/corpus/projects/c/runs?filename=${encodeURIComponent(file.split('/').pop()!)}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: corpusFile(file),
  });

async function runCount(): Promise<number> {
  const { count } = await t.database.db
    .selectFrom('test_runs')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(count);
}

describe('ingestion conformance over ../shared/junit-corpus', () => {
  it.each(manifest.filter((e) => e.valid))(
    'stores $file with the expected totals',
    async (entry) => {
      const res = await upload(entry.file);
      expect(res.statusCode, res.body).toBe(201);
      const run = res.json();
      expect(run.totals).toEqual(entry.expected);
      const stored = await t.app.inject({
        method: 'GET',
        url: `/api/v1/orgs/corpus/projects/c/runs/${run.id}`,
        headers: ci.auth,
      });
      expect(stored.json().totals).toEqual(entry.expected);
      expect(await storedResults(t.database.db, run.id)).toBe(entry.expected!.tests);
    },
  );

  it.each(manifest.filter((e) => !e.valid))(
    'rejects $file with a 400 and leaves no run',
    async (entry) => {
      const before = await runCount();
      const res = await upload(entry.file);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail).toContain(entry.file.split('/').pop());
      expect(await runCount()).toBe(before);
    },
  );
});
