/** Organization roles, most powerful first. `ci` exists only for API tokens. */
export const ROLES = [
  'owner',
  'admin',
  'qa_lead',
  'architect',
  'developer',
  'reviewer',
  'viewer',
  'ci',
] as const;
export type Role = (typeof ROLES)[number];
export const MEMBER_ROLES = ROLES.filter((r) => r !== 'ci');

export const PERMISSIONS = {
  'org:read': 'read the organization, its projects, runs, gates and reports',
  'org:update': 'rename the organization',
  'org:delete': 'delete the organization',
  'members:read': 'list members',
  'members:manage': 'change roles, remove members, invite people',
  'api_tokens:manage': 'create, list and revoke CI tokens',
  'audit:read': 'read the audit log',
  'projects:write': 'create and edit projects and their quality configuration',
  'runs:upload': 'upload test results',
  'issues:write': 'track issues, escalate, plan activities, risks and checkpoints',
  'review:write': 'record code review verdicts',
  'webhooks:manage': 'add, list and delete outbound webhooks and read their deliveries',
} as const;
export type Permission = keyof typeof PERMISSIONS;

const READ: Permission[] = ['org:read', 'members:read'];

/** The single permission table: what each role may do. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: Object.keys(PERMISSIONS) as Permission[],
  admin: [
    ...READ,
    'org:update',
    'members:manage',
    'api_tokens:manage',
    'audit:read',
    'projects:write',
    'runs:upload',
    'issues:write',
    'review:write',
    'webhooks:manage',
  ],
  qa_lead: [...READ, 'projects:write', 'runs:upload', 'issues:write', 'review:write'],
  architect: [...READ, 'issues:write'],
  developer: [...READ, 'runs:upload', 'issues:write'],
  reviewer: [...READ, 'review:write'],
  viewer: [...READ],
  ci: ['org:read', 'runs:upload'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function can(role: string, permission: Permission): boolean {
  return isRole(role) && ROLE_PERMISSIONS[role].includes(permission);
}

/** The roles holding a permission, most powerful first (`ci` only when it has it). */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));
}

/**
 * Why a role is refused, for the 403 a caller reads: the permission it lacks, what that
 * permission allows, and the roles that hold it.
 */
export function refusal(
  role: string,
  permission: Permission,
): { message: string; permission: Permission; roles: Role[] } {
  const roles = rolesWith(permission);
  const who = role === 'ci' ? 'An API token (role ci)' : `Your role (${role})`;
  return {
    message: `${who} lacks the permission ${permission} (${PERMISSIONS[permission]}); the roles that have it: ${roles.join(', ')}`,
    permission,
    roles,
  };
}

/** A role may be granted only by someone who holds every permission it carries. */
export function canGrant(granter: string, role: string): boolean {
  if (!isRole(granter) || !isRole(role)) return false;
  const mine = ROLE_PERMISSIONS[granter];
  return ROLE_PERMISSIONS[role].every((p) => mine.includes(p));
}

/** The permission table as Markdown, as the README shows it (a test keeps the two equal). */
export function permissionTableMarkdown(): string {
  const head = `| permission | ${ROLES.join(' | ')} |\n|---|${ROLES.map(() => ':-:').join('|')}|`;
  const rows = (Object.entries(PERMISSIONS) as [Permission, string][]).map(
    ([p, what]) =>
      `| \`${p}\` — ${what} | ${ROLES.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? '✓' : ' ')).join(' | ')} |`,
  );
  return [head, ...rows].join('\n');
}
