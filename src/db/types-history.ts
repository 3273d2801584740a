import type { ColumnType, Generated } from 'kysely';

/** A test's identity, once per project; results refer to it by `ord`. */
export interface TestsTable {
  org_id: string;
  project_id: string;
  /** Dense per project, 0-based, in the order the project first saw its tests. */
  ord: number;
  /** The testKey() hash of project, suite, classname and name; hex of it is the `testId`. */
  test_key: Buffer;
  suite: string;
  classname: string;
  name: string;
  /**
   * Set when an upload stored the test while another upload's registration of it was still
   * pending; a test is stored when this is set or no pending registration covers its ord.
   */
  stored: Generated<boolean>;
  created_at: Generated<Date>;
}

/**
 * New tests an upload registered (consecutive ords) that wait for it to commit: the upload's
 * own transaction deletes the row; a refused upload leaves it, and its tests stay unlisted.
 */
export interface TestRegistrationsTable {
  org_id: string;
  project_id: string;
  first_ord: number;
  last_ord: number;
  created_at: Generated<Date>;
}

/**
 * One run's results for 256 consecutive test ords: byte i of `statuses` is the status of
 * ord block*256+i (see src/modules/runs/run-blocks.ts for the codes and flags), bytes
 * 4i..4i+3 of `durations` its duration in microseconds (big-endian uint32).
 */
export interface RunBlocksTable {
  org_id: string;
  run_id: string;
  project_id: string;
  block: number;
  statuses: Buffer;
  durations: Buffer;
}

/** A result that is more than a plain pass (failure, output, reruns...) or a repeat of a
 *  test already seen in the run. */
export interface ResultDetailsTable {
  org_id: string;
  run_id: string;
  project_id: string;
  file_id: string;
  ord: number;
  /** Occurrence order of the result within the run (0-based, over every result). */
  seq: number;
  /** A repeated occurrence of a test already in the run (the first one is in run_blocks). */
  duplicate: boolean;
  status: string;
  /** The exact duration in milliseconds, as parsed. */
  duration_ms: number | null;
  failure_type: string | null;
  failure_message: string | null;
  failure_text: string | null;
  system_out: string | null;
  system_err: string | null;
  truncated: boolean;
  flaky: boolean;
  reruns: ColumnType<unknown, string | null, string | null>;
  properties: ColumnType<unknown, string | null, string | null>;
  signature: string | null;
}

/**
 * A branch's complete runs summed per day (UTC), kept by a trigger on test_runs (migration
 * 0017); trends read it. Counts are bigint (strings to pg), read through casts.
 */
export interface RunDayTotalsTable {
  org_id: string;
  project_id: string;
  branch: string;
  day: Date;
  runs: number;
  tests: string;
  passed: string;
  failed: string;
  errored: string;
  skipped: string;
  flaky: string;
  duration_ms: number;
}

export interface HistoryTables {
  tests: TestsTable;
  test_registrations: TestRegistrationsTable;
  run_blocks: RunBlocksTable;
  result_details: ResultDetailsTable;
  run_day_totals: RunDayTotalsTable;
}
