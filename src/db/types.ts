import type { CoordinationTables, DateOnly } from './types-coordination.ts';
import type { HistoryTables } from './types-history.ts';
import type { WebTables } from './types-web.ts';
import type { ColumnType, Generated, Selectable } from 'kysely';

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

export interface ProjectsTable {
  org_id: string;
  id: string;
  key: string;
  name: string;
  github_repo: string | null;
  default_branch: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface TestRunsTable {
  org_id: string;
  id: string;
  project_id: string;
  commit_sha: string | null;
  branch: string | null;
  build: string | null;
  attempt: Generated<number>;
  issue_number: number | null;
  tests: Generated<number>;
  passed: Generated<number>;
  failed: Generated<number>;
  errored: Generated<number>;
  skipped: Generated<number>;
  flaky: Generated<number>;
  duration_ms: Generated<number>;
  files: Generated<number>;
  status: Generated<'open' | 'complete'>;
  shards: number | null;
  uploads: Generated<number>;
  last_upload_at: Generated<Date>;
  completed_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface DueWorkTable {
  org_id: string;
  kind: string;
  ref_id: string;
  due_at: Date;
}

export interface RunFilesTable {
  org_id: string;
  id: string;
  run_id: string;
  filename: string;
  bytes: ColumnType<string, number, number>;
  tests: number;
  created_at: Generated<Date>;
}

type Json = ColumnType<unknown, string, string>;

export interface TrackedIssuesTable {
  org_id: string;
  id: string;
  project_id: string;
  number: number;
  title: string;
  phase: Generated<string>;
  github_issue_url: string | null;
  /** YYYY-MM-DD: the date the issue should be done by, for the schedule's forecast. */
  target_date: DateOnly | null;
  /** The phase before an event moved it (escalated, done), to return to. */
  phase_before: string | null;
  phase_changed_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ReviewsTable {
  org_id: string;
  id: string;
  issue_id: string;
  verdict: string;
  conditions: Json;
  notes: string | null;
  reviewer: string;
  recorded_by: string;
  created_at: Generated<Date>;
}

export interface QualityConfigsTable {
  org_id: string;
  project_id: string;
  config: Json;
  version: Generated<number>;
  updated_by: string;
  updated_at: Generated<Date>;
}

export interface CriterionChecksTable {
  org_id: string;
  issue_id: string;
  criterion_key: string;
  checked: boolean;
  checked_by: string;
  checked_at: Generated<Date>;
}

export interface GateReportsTable {
  org_id: string;
  issue_id: string;
  run_id: string | null;
  report: Json;
  evaluated_at: Generated<Date>;
}

export interface GateStateChangesTable {
  org_id: string;
  id: string;
  issue_id: string;
  gate_key: string;
  from_state: string | null;
  to_state: string;
  reason: string;
  run_id: string | null;
  created_at: Generated<Date>;
}

export interface IdempotencyKeysTable {
  org_id: string;
  project_id: string;
  key: string;
  status: number | null;
  response: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
}

export interface DB extends CoordinationTables, WebTables, HistoryTables {
  tracked_issues: TrackedIssuesTable;
  reviews: ReviewsTable;
  quality_configs: QualityConfigsTable;
  criterion_checks: CriterionChecksTable;
  gate_reports: GateReportsTable;
  gate_state_changes: GateStateChangesTable;
  projects: ProjectsTable;
  test_runs: TestRunsTable;
  run_files: RunFilesTable;
  idempotency_keys: IdempotencyKeysTable;
  due_work: DueWorkTable;
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
