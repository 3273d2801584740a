import { readFile } from 'node:fs/promises';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_KINDS } from '../../src/domain/gates.ts';
import { QualityConfigBody } from '../../src/modules/gates/gates.schema.ts';
import { SEED_QUALITY_CONFIG } from '../../src/seed-quality-config.ts';
import { ownerOfNewOrg } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

let t: TestApp;
let served: Record<string, unknown>;
let validate: ValidateFunction;

beforeAll(async () => {
  t = await startTestApp();
  const res = await t.app.inject({ method: 'GET', url: '/schemas/quality-config.json' });
  expect(res.statusCode).toBe(200);
  served = res.json();
  validate = addFormats(new Ajv({ strict: false })).compile(served);
});
afterAll(() => t.close());

const clone = <T>(v: T): T => structuredClone(v);

describe('GET /schemas/quality-config.json', () => {
  it('answers without a token, as a JSON Schema media type', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/schemas/quality-config.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/(schema\+)?json/);
  });

  it('names its dialect and its own address, with a title and descriptions', () => {
    expect(served['$schema']).toBe('http://json-schema.org/draft-07/schema#');
    expect(served['$id']).toBe('http://gatehouse.test/schemas/quality-config.json');
    expect(served['title']).toMatch(/quality configuration/i);
    expect(served['description']).toEqual(expect.any(String));
    const props = served['properties'] as Record<string, { description?: string }>;
    for (const field of ['categories', 'gates', 'criteria'])
      expect(props[field]?.description, field).toEqual(expect.any(String));
  });

  it('is the schema PUT .../quality-config validates with, not a copy', () => {
    const { $schema, $id, ...rest } = served;
    expect($schema).toBeDefined();
    expect($id).toBeDefined();
    expect(rest).toEqual(JSON.parse(JSON.stringify(QualityConfigBody)));
  });

  it('accepts the seed configuration', () => {
    expect(validate(clone(SEED_QUALITY_CONFIG)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses a misspelled operator, a missing gates list and an unknown field', () => {
    const badOp = clone(SEED_QUALITY_CONFIG) as unknown as {
      gates: { conditions: { op: string }[] }[];
    };
    badOp.gates[0]!.conditions[0]!.op = '=>';
    expect(validate(badOp)).toBe(false);
    expect(validate({ categories: [] })).toBe(false);
    expect(validate({ ...clone(SEED_QUALITY_CONFIG), colour: 'red' })).toBe(false);
  });

  it('lists the known metrics for completion', () => {
    const condition = JSON.stringify(served);
    for (const metric of Object.keys(METRIC_KINDS)) expect(condition).toContain(`"${metric}"`);
  });

  it('agrees with the server: what it refuses, PUT refuses', async () => {
    const owner = await ownerOfNewOrg(t.app, 'schema');
    const project = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/schema/projects',
      headers: owner.auth,
      payload: { key: 'api', name: 'API' },
    });
    expect(project.statusCode).toBe(201);
    const url = '/api/v1/orgs/schema/projects/api/quality-config';
    const bad = { gates: [{ key: 'g', name: 'G', conditions: [], colour: 'red' }] };
    expect(validate(bad)).toBe(false);
    const refused = await t.app.inject({ method: 'PUT', url, headers: owner.auth, payload: bad });
    expect(refused.statusCode).toBe(400);
    const ok = await t.app.inject({
      method: 'PUT',
      url,
      headers: owner.auth,
      payload: SEED_QUALITY_CONFIG,
    });
    expect(ok.statusCode).toBe(200);
  });

  it("takes an editor's $schema pointer in the body and does not keep it", async () => {
    const owner = await ownerOfNewOrg(t.app, 'schema-pointer');
    const project = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/schema-pointer/projects',
      headers: owner.auth,
      payload: { key: 'api', name: 'API' },
    });
    expect(project.statusCode).toBe(201);
    const url = '/api/v1/orgs/schema-pointer/projects/api/quality-config';
    const body = {
      $schema: 'http://localhost/schemas/quality-config.json',
      ...SEED_QUALITY_CONFIG,
    };
    expect(validate(body)).toBe(true);
    const put = await t.app.inject({ method: 'PUT', url, headers: owner.auth, payload: body });
    expect(put.statusCode).toBe(200);
    const got = await t.app.inject({ method: 'GET', url, headers: owner.auth });
    const config = got.json<{ config: Record<string, unknown> }>().config;
    expect(config).not.toHaveProperty('$schema');
    expect(config['gates']).toEqual(JSON.parse(JSON.stringify(SEED_QUALITY_CONFIG.gates)));
  });
});

describe('docs/quality-config.md', () => {
  const doc = () => readFile(new URL('../../docs/quality-config.md', import.meta.url), 'utf8');

  it('shows the seed configuration as its example', async () => {
    const blocks = [...(await doc()).matchAll(/```json\n([\s\S]*?)```/g)].map((m) =>
      JSON.parse(m[1]!),
    );
    const example = blocks.find((b: { categories?: unknown }) => Array.isArray(b.categories));
    expect(example).toBeDefined();
    const { $schema, ...config } = example as Record<string, unknown>;
    expect($schema).toMatch(/\/schemas\/quality-config\.json$/);
    expect(config).toEqual(SEED_QUALITY_CONFIG);
  });

  it('documents every metric with its kind', async () => {
    const text = await doc();
    for (const [metric, kind] of Object.entries(METRIC_KINDS))
      expect(text, metric).toContain(`| \`${metric}\` | ${kind} |`);
  });

  it('documents every field of the schema', async () => {
    const text = await doc();
    const fields = new Set<string>();
    const walk = (s: unknown) => {
      if (s === null || typeof s !== 'object') return;
      const props = (s as { properties?: Record<string, unknown> }).properties;
      for (const [name, sub] of Object.entries(props ?? {})) {
        fields.add(name);
        walk(sub);
      }
      for (const v of Object.values(s)) if (typeof v === 'object') walk(v);
    };
    walk(served);
    expect(fields.size).toBeGreaterThan(10);
    for (const field of fields) expect(text, field).toContain(`\`${field}\``);
  });
});
