import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../src/http/openapi.ts';
import { apiToken, ownerOfNewOrg } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { junitXml } from '../helpers/junit-gen.ts';

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  description?: string;
  schema?: { default?: unknown };
}
interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: { $ref?: string } }> }
  >;
}
interface Document {
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

let t: TestApp;
let doc: Document;
const operations: { method: string; path: string; op: Operation }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json<Document>();
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      operations.push({ method: method.toUpperCase(), path, op });
});
afterAll(() => t.close());

const name = (o: { method: string; path: string }) => `${o.method} ${o.path}`;
const uploadPath = '/api/v1/orgs/{org}/projects/{project}/runs';

describe('/openapi.json', () => {
  it('describes every operation with a summary', () => {
    expect(operations.length).toBeGreaterThan(60);
    const missing = operations.filter((o) => (o.op.summary ?? '').trim().length < 5).map(name);
    expect(missing).toEqual([]);
  });

  it('tags every operation with exactly one capability, each described', () => {
    const capabilities = Object.keys(CAPABILITIES);
    const wrong = operations
      .filter((o) => o.op.tags?.length !== 1 || !capabilities.includes(o.op.tags[0]!))
      .map((o) => `${name(o)}: ${JSON.stringify(o.op.tags)}`);
    expect(wrong).toEqual([]);
    for (const capability of capabilities)
      expect(doc.tags.find((tag) => tag.name === capability)?.description, capability).toEqual(
        expect.any(String),
      );
    for (const capability of ['runs', 'gates', 'issues', 'auth', 'system'])
      expect(
        operations.some((o) => o.op.tags?.[0] === capability),
        capability,
      ).toBe(true);
  });

  it('lists the 4xx answers each operation can give, as problem+json', () => {
    const missing: string[] = [];
    for (const o of operations) {
      const expected = new Set<number>();
      const authenticated = (o.op.security ?? []).length > 0;
      const validated =
        o.op.requestBody !== undefined ||
        (o.op.parameters ?? []).length > 0 ||
        o.path.includes('{');
      if (validated) expected.add(400);
      if (authenticated) [401, 403].forEach((s) => expected.add(s));
      if (o.path.includes('{')) expected.add(404);
      if (o.op.requestBody !== undefined) [413, 415].forEach((s) => expected.add(s));
      if (authenticated && ['POST', 'PUT', 'PATCH'].includes(o.method)) expected.add(409);
      for (const status of expected) {
        const response = o.op.responses[String(status)];
        const schema = response?.content?.['application/problem+json']?.schema;
        if (schema?.$ref !== '#/components/schemas/Problem') missing.push(`${name(o)} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives every operation a success answer', () => {
    const none = operations
      .filter((o) => !Object.keys(o.op.responses).some((s) => /^[23]/.test(s)))
      .map(name);
    expect(none).toEqual([]);
  });

  it('describes every success answer', () => {
    const vague = operations.flatMap((o) =>
      Object.entries(o.op.responses)
        .filter(([status, r]) => status.startsWith('2') && r.description === 'Default Response')
        .map(([status]) => `${name(o)} ${status}`),
    );
    expect(vague).toEqual([]);
  });

  it('names the answers particular to a route: 429 on sign-in, 409 on sign-up', () => {
    expect(Object.keys(doc.paths['/api/v1/auth/login']!['post']!.responses)).toContain('429');
    expect(Object.keys(doc.paths['/api/v1/auth/signup']!['post']!.responses)).toContain('409');
    const health = doc.paths['/healthz']!['get']!;
    expect(Object.keys(health.responses)).not.toContain('401');
  });

  it('documents the upload body: raw XML, or multipart with several files', () => {
    const body = doc.paths[uploadPath]!['post']!.requestBody!;
    expect(Object.keys(body.content).sort()).toEqual([
      'application/xml',
      'multipart/form-data',
      'text/xml',
    ]);
    expect(body.content['application/xml']!.schema).toMatchObject({
      type: 'string',
      format: 'binary',
    });
    expect(body.content['multipart/form-data']!.schema).toMatchObject({
      type: 'object',
      properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } } },
    });
  });

  it('documents gzip-compressed XML as Content-Encoding: gzip', () => {
    const params = doc.paths[uploadPath]!['post']!.parameters!;
    expect(params.find((p) => p.in === 'header' && p.name === 'content-encoding')).toMatchObject({
      required: false,
      description: expect.stringMatching(/gzip/),
    });
  });

  it('shows query values with a default as optional, as they behave', () => {
    const params = doc.paths[uploadPath]!['post']!.parameters!;
    const attempt = params.find((p) => p.in === 'query' && p.name === 'attempt');
    expect(attempt).toMatchObject({ required: false, schema: { default: 1 } });
    const defaulted = operations.flatMap((o) =>
      (o.op.parameters ?? [])
        .filter((p) => p.in === 'query' && p.schema?.default !== undefined && p.required === true)
        .map((p) => `${name(o)} ?${p.name}`),
    );
    expect(defaulted).toEqual([]);
  });
});

describe('what the description says, the server does', () => {
  it('takes an upload without attempt (attempt 1), and answers the types documented in a 415', async () => {
    const owner = await ownerOfNewOrg(t.app, 'docs');
    const project = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/docs/projects',
      headers: owner.auth,
      payload: { key: 'api', name: 'API' },
    });
    expect(project.statusCode).toBe(201);
    const ci = await apiToken(t.app, owner, 'docs');
    const url = '/api/v1/orgs/docs/projects/api/runs';
    const run = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(2),
    });
    expect(run.statusCode).toBe(201);
    expect(run.json<{ attempt: number }>().attempt).toBe(1);
    const refused = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...ci.auth, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(refused.statusCode).toBe(415);
    const documented = Object.keys(doc.paths[uploadPath]!['post']!.requestBody!.content);
    expect([...refused.json<{ accepted: string[] }>().accepted].sort()).toEqual(documented.sort());
  });
});
