import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { junitXml } from '../helpers/junit-gen.ts';

let t: TestApp;
let owner: Session;
let developer: Session;
let ci: { auth: { authorization: string } };

const projects = '/api/v1/orgs/errs/projects';
const runs = `${projects}/api/runs`;

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'errs');
  const res = await t.app.inject({
    method: 'POST',
    url: projects,
    headers: owner.auth,
    payload: { key: 'api', name: 'API' },
  });
  expect(res.statusCode).toBe(201);
  developer = await memberOf(t.app, owner, 'errs', 'developer');
  ci = await apiToken(t.app, owner, 'errs');
});
afterAll(() => t.close());

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
  permission?: string;
  roles?: string[];
  accepted?: string[];
}

describe('a 403', () => {
  it('names the permission the caller lacks and the roles that have it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: projects,
      headers: developer.auth,
      payload: { key: 'web', name: 'Web' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json<ProblemBody>();
    expect(body.detail).toBe(
      'Your role (developer) lacks the permission projects:write (create and edit projects and their quality configuration); the roles that have it: owner, admin, qa_lead',
    );
    expect(body.permission).toBe('projects:write');
    expect(body.roles).toEqual(['owner', 'admin', 'qa_lead']);
  });

  it('tells a CI token which permission it lacks', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/errs/members',
      headers: ci.auth,
    });
    expect(res.statusCode).toBe(403);
    expect(res.json<ProblemBody>().detail).toMatch(
      /^An API token \(role ci\) lacks the permission members:read \(list members\); the roles that have it: owner, .*viewer$/,
    );
  });
});

describe('a 415', () => {
  it('names the types an upload accepts when sent JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: runs,
      headers: { ...ci.auth, 'content-type': 'application/json' },
      payload: '{"tests": 1}',
    });
    expect(res.statusCode).toBe(415);
    const body = res.json<ProblemBody>();
    expect(body.detail).toBe(
      'This route accepts application/xml, text/xml or multipart/form-data, not application/json',
    );
    expect(body.accepted).toEqual(['application/xml', 'text/xml', 'multipart/form-data']);
  });

  it('says an XML body sent as application/json looks like XML and which type to use', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: runs,
      headers: { ...ci.auth, 'content-type': 'application/json' },
      payload: junitXml(3),
    });
    expect(res.statusCode).toBe(415);
    expect(res.json<ProblemBody>().detail).toMatch(
      /^The body looks like XML; send it as application\/xml \(Content-Type: application\/xml\), not application\/json\. This route accepts application\/xml, text\/xml or multipart\/form-data/,
    );
  });

  it('names the types an upload accepts when sent plain text or bytes', async () => {
    for (const type of ['text/plain', 'application/octet-stream']) {
      const res = await t.app.inject({
        method: 'POST',
        url: runs,
        headers: { ...ci.auth, 'content-type': type },
        payload: junitXml(1),
      });
      expect(res.statusCode, type).toBe(415);
      expect(res.json<ProblemBody>().detail).toBe(
        `This route accepts application/xml, text/xml or multipart/form-data, not ${type}`,
      );
    }
  });

  it('tells how to send a gzip file to an upload sent as application/gzip', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: runs,
      headers: { ...ci.auth, 'content-type': 'application/gzip' },
      payload: gzipSync(junitXml(1)),
    });
    expect(res.statusCode).toBe(415);
    expect(res.json<ProblemBody>().detail).toBe(
      'Send gzip-compressed XML as Content-Type: application/xml with Content-Encoding: gzip (or as a .gz part of multipart/form-data). This route accepts application/xml, text/xml or multipart/form-data, not application/gzip',
    );
  });

  it('tells a JSON route sent XML or text that it takes application/json', async () => {
    for (const type of ['application/xml', 'text/plain']) {
      const res = await t.app.inject({
        method: 'POST',
        url: projects,
        headers: { ...owner.auth, 'content-type': type },
        payload: '<project key="web"/>',
      });
      expect(res.statusCode, type).toBe(415);
      expect(res.json<ProblemBody>().detail).toBe(
        `This route accepts application/json, not ${type}`,
      );
    }
  });

  it('tells a JSON route sent XML labelled as JSON that it takes JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: projects,
      headers: { ...owner.auth, 'content-type': 'application/json' },
      payload: '<?xml version="1.0"?><project/>',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ProblemBody>().detail).toBe(
      'The body looks like XML, but this route takes JSON (Content-Type: application/json)',
    );
  });

  it('still reads JSON sent as JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: projects,
      headers: { ...owner.auth, 'content-type': 'application/json; charset=utf-8' },
      payload: JSON.stringify({ key: 'json', name: 'JSON' }),
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('a file that is not XML', () => {
  it('reports its file and position once', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: runs,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: 'these are not test results\nbut plain text\n',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ProblemBody>().detail).toMatch(
      /^upload\.xml:\d+:\d+: text data outside of root node$/,
    );
  });
});
