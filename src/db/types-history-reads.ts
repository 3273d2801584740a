/**
 * Tables and columns of migration 0014 (history reads, quarantine, retention). Read and
 * written through raw `sql` in src/modules/tests/tests.queries.ts and src/jobs/retention.ts,
 * typed with these rows.
 */

/** A quarantined test: its failures are excused until `expires_at` (null: until lifted). */
export interface TestQuarantineRow {
  org_id: string;
  project_id: string;
  test_key: Buffer;
  reason: string;
  by_type: 'user' | 'token' | 'system';
  by_id: string;
  created_at: Date;
  expires_at: Date | null;
}

/** Since when a test has been flaky over history without a break (automatic quarantine). */
export interface TestFlakySinceRow {
  org_id: string;
  project_id: string;
  test_key: Buffer;
  since: Date;
}

/** Columns 0014 adds to `projects`: how many days details and per-result history are kept. */
export interface ProjectRetentionColumns {
  details_days: number;
  results_days: number;
}

/** Columns 0014 adds to `test_runs`: when retention removed the run's details, then its blocks. */
export interface RunRetentionColumns {
  details_purged_at: Date | null;
  results_purged_at: Date | null;
}
