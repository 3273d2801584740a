import { describe, expect, it } from 'vitest';
import {
  can,
  canGrant,
  MEMBER_ROLES,
  refusal,
  ROLE_PERMISSIONS,
  ROLES,
  rolesWith,
} from './permissions.ts';

describe('the permission table', () => {
  it('gives the owner every permission and nobody more than the owner', () => {
    for (const role of ROLES) {
      for (const p of ROLE_PERMISSIONS[role]) expect(can('owner', p)).toBe(true);
    }
  });

  it('lets only the owner delete an organization', () => {
    expect(ROLES.filter((r) => can(r, 'org:delete'))).toEqual(['owner']);
  });

  it('lets a ci token upload and read, nothing else', () => {
    expect([...ROLE_PERMISSIONS.ci].sort()).toEqual(['org:read', 'runs:upload']);
  });

  it('refuses unknown roles', () => {
    expect(can('superuser', 'org:read')).toBe(false);
    expect(canGrant('owner', 'superuser')).toBe(false);
  });

  it('lets a role grant exactly the roles whose permissions it holds', () => {
    expect(canGrant('owner', 'owner')).toBe(true);
    expect(canGrant('admin', 'owner')).toBe(false);
    expect(canGrant('admin', 'admin')).toBe(true);
    expect(canGrant('admin', 'qa_lead')).toBe(true);
    expect(canGrant('qa_lead', 'admin')).toBe(false);
    expect(canGrant('reviewer', 'developer')).toBe(false);
    expect(canGrant('viewer', 'viewer')).toBe(true);
    for (const role of MEMBER_ROLES) expect(canGrant('owner', role)).toBe(true);
  });
});

describe('a refusal', () => {
  it('names the permission lacking, what it allows and the roles that have it', () => {
    expect(refusal('developer', 'projects:write')).toEqual({
      message:
        'Your role (developer) lacks the permission projects:write (create and edit projects and their quality configuration); the roles that have it: owner, admin, qa_lead',
      permission: 'projects:write',
      roles: ['owner', 'admin', 'qa_lead'],
    });
  });

  it('speaks of an API token when the role is ci', () => {
    expect(refusal('ci', 'issues:write').message).toMatch(
      /^An API token \(role ci\) lacks the permission issues:write .*: owner, admin, qa_lead, architect, developer$/,
    );
  });

  it('lists exactly the roles the table gives the permission', () => {
    expect(rolesWith('runs:upload')).toEqual(['owner', 'admin', 'qa_lead', 'developer', 'ci']);
    expect(rolesWith('org:delete')).toEqual(['owner']);
  });
});

describe('the README', () => {
  it('shows the permission table exactly as the code has it', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const { permissionTableMarkdown } = await import('./permissions.ts');
    expect(readme).toContain(permissionTableMarkdown());
  });
});
