import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: Generated<Date>;
}

export interface OrgsTable {
  id: string;
  slug: string;
  name: string;
  created_at: Generated<Date>;
  deleted_at: NullableTimestamp;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: string;
  created_at: Generated<Date>;
}

export interface InvitationsTable {
  org_id: string;
  id: string;
  email: string;
  role: string;
  token_hash: Buffer;
  invited_by: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_by: string | null;
  revoked_at: NullableTimestamp;
}

export interface ApiTokensTable {
  org_id: string;
  id: string;
  name: string;
  role: string;
  token_hash: Buffer;
  created_by: string;
  created_at: Generated<Date>;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface AuditEventsTable {
  org_id: string;
  id: string;
  actor_type: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string | null;
  data: ColumnType<unknown, string, string>;
  request_id: string | null;
  created_at: Generated<Date>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** The org the session's access tokens are scoped to. */
  scope_org_id: string | null;
  created_at: Generated<Date>;
  last_used_at: Generated<Date>;
  idle_expires_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  session_id: string;
  created_at: Generated<Date>;
  used_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  private_enc: string;
  created_at: Generated<Date>;
}

export interface LoginThrottleTable {
  email: string;
  failures: number;
  window_started_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  login_throttle: LoginThrottleTable;
}

export type User = Selectable<UsersTable>;
export type Org = Selectable<OrgsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
