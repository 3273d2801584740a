/** Every tenant table: org_id first in every key, RLS enabled and forced. */
export const TENANT_TABLES = [
  'memberships',
  'invitations',
  'api_tokens',
  'audit_events',
  'projects',
  'test_runs',
  'run_files',
  'test_results',
  'idempotency_keys',
  'tracked_issues',
  'reviews',
  'quality_configs',
  'criterion_checks',
  'gate_reports',
  'gate_state_changes',
  'due_work',
] as const;
