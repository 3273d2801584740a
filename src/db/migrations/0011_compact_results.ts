// Deviations from the agreed storage design (issue 12), in one line each:
// - result_details also has `duplicate` (true for a repeat of a test already in the run, whose
//   first occurrence is in run_blocks), `duration_ms` (the exact parsed duration) and
//   `signature` (the failure's triage signature, indexed for "first seen"); PK (org_id, run_id, seq).
// - durations are big-endian uint32 microseconds (4 bytes each, 1024 per block): 0xFFFFFFFF is
//   "no duration", 0xFFFFFFFE "too long for 71 minutes, see result_details.duration_ms".
// - ords come from max(ord)+1 under a per-project advisory lock in a short transaction of their
//   own (no counter row): test identities commit before the upload does, so concurrent uploads
//   never wait for each other's commit; a failed upload leaves its new tests known, resultless.
import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/**
 * Compact results: a test's identity once per project (`tests`), each run's statuses and
 * durations in blocks of 256 test ords (`run_blocks`), and only results that carry more than
 * a plain pass or skip (failures, output, reruns, properties, repeats) as rows of their own
 * (`result_details`). test_results is converted in place, then dropped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // No foreign key from tests to projects: its check locks the project row once per inserted
  // test and took half the time of registering a batch of new tests (measured: 120 of 232 ms
  // for 5,000). Tests are only written by an upload, after it resolved its project.
  await sql`
    CREATE TABLE tests (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      ord integer NOT NULL,
      test_key bytea NOT NULL,
      suite text NOT NULL,
      classname text NOT NULL,
      name text NOT NULL,
      -- False until an upload holding the test commits: identities are registered in a
      -- transaction of their own, so a refused upload can leave some that were never stored.
      stored boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, project_id, ord),
      UNIQUE (org_id, project_id, test_key)
    );

    -- Tests a refused upload left unstored: usually none, so the test list's check is cheap.
    CREATE INDEX tests_unstored_idx ON tests (org_id, project_id, ord) WHERE NOT stored;

    -- ~1.4 KB a row: stays inline (no TOAST), one page read per block.
    CREATE TABLE run_blocks (
      org_id uuid NOT NULL,
      run_id uuid NOT NULL,
      block integer NOT NULL,
      project_id uuid NOT NULL,
      statuses bytea NOT NULL,
      durations bytea NOT NULL,
      PRIMARY KEY (org_id, run_id, block),
      FOREIGN KEY (org_id, run_id) REFERENCES test_runs (org_id, id) ON DELETE CASCADE
    );

    -- No foreign key, as test_results had none: a check per inserted row locks the run row
    -- once per row, and a run of failures writes one of these per result.
    CREATE TABLE result_details (
      org_id uuid NOT NULL,
      run_id uuid NOT NULL,
      seq integer NOT NULL,
      ord integer NOT NULL,
      project_id uuid NOT NULL,
      file_id uuid NOT NULL,
      duplicate boolean NOT NULL DEFAULT false,
      truncated boolean NOT NULL DEFAULT false,
      flaky boolean NOT NULL DEFAULT false,
      duration_ms double precision,
      status text NOT NULL,
      failure_type text,
      failure_message text,
      failure_text text,
      system_out text,
      system_err text,
      reruns jsonb,
      properties jsonb,
      signature text,
      PRIMARY KEY (org_id, run_id, seq)
    );
    CREATE INDEX result_details_ord_idx ON result_details (org_id, run_id, ord, seq);
    CREATE INDEX result_details_problems_idx ON result_details (org_id, run_id, status, ord, seq)
      WHERE status <> 'passed';
    CREATE INDEX result_details_signature_idx ON result_details (org_id, project_id, signature, run_id)
      WHERE signature IS NOT NULL;

    -- Identities in the order each project first saw them.
    INSERT INTO tests (org_id, project_id, ord, test_key, suite, classname, name, stored)
    SELECT org_id, project_id,
      (row_number() OVER (PARTITION BY org_id, project_id ORDER BY first_id) - 1)::int,
      test_key, suite, classname, name, true
    FROM (
      SELECT DISTINCT ON (org_id, project_id, test_key) org_id, project_id, test_key, suite,
        classname, name, id AS first_id
      FROM test_results ORDER BY org_id, project_id, test_key, id
    ) AS first_seen;

    CREATE TEMP TABLE converted ON COMMIT DROP AS
    SELECT r.*, t.ord,
      (row_number() OVER (PARTITION BY r.org_id, r.run_id ORDER BY r.id) - 1)::int AS seq,
      row_number() OVER (PARTITION BY r.org_id, r.run_id, t.ord ORDER BY r.id) > 1 AS duplicate,
      CASE WHEN r.duration_ms IS NULL THEN 4294967295
           WHEN r.duration_ms >= 0 AND floor(r.duration_ms * 1000 + 0.5) < 4294967294
             THEN floor(r.duration_ms * 1000 + 0.5)::bigint
           ELSE 4294967294 END AS micros,
      r.status IN ('passed', 'skipped') AND r.failure_type IS NULL AND r.failure_message IS NULL
        AND r.failure_text IS NULL AND r.system_out IS NULL AND r.system_err IS NULL
        AND NOT r.truncated AND NOT r.flaky AND r.reruns IS NULL AND r.properties IS NULL AS plain
    FROM test_results r
    JOIN tests t ON t.org_id = r.org_id AND t.project_id = r.project_id AND t.test_key = r.test_key;

    INSERT INTO result_details (org_id, run_id, seq, ord, project_id, file_id, duplicate, truncated,
      flaky, duration_ms, status, failure_type, failure_message, failure_text, system_out,
      system_err, reruns, properties, signature)
    SELECT org_id, run_id, seq, ord, project_id, file_id, duplicate, truncated, flaky, duration_ms,
      status, failure_type, failure_message, failure_text, system_out, system_err, reruns,
      properties, signature
    FROM converted WHERE duplicate OR NOT plain OR micros = 4294967294;

    -- Status codes 1 passed, 2 failed, 3 error, 4 skipped; 0x10 flaky, 0x20 has details.
    WITH firsts AS (
      SELECT org_id, run_id, project_id, ord / 256 AS block, ord % 256 AS pos, micros,
        CASE status WHEN 'passed' THEN 1 WHEN 'failed' THEN 2 WHEN 'error' THEN 3 ELSE 4 END
          | CASE WHEN flaky THEN 16 ELSE 0 END
          | CASE WHEN NOT plain OR micros = 4294967294 THEN 32 ELSE 0 END AS code
      FROM converted WHERE NOT duplicate
    ), blocks AS (
      SELECT DISTINCT org_id, run_id, project_id, block FROM firsts
    )
    INSERT INTO run_blocks (org_id, run_id, block, project_id, statuses, durations)
    SELECT b.org_id, b.run_id, b.block, b.project_id,
      decode(string_agg(lpad(to_hex(coalesce(f.code, 0)), 2, '0'), '' ORDER BY i), 'hex'),
      decode(string_agg(lpad(to_hex(coalesce(f.micros, 0)), 8, '0'), '' ORDER BY i), 'hex')
    FROM blocks b CROSS JOIN generate_series(0, 255) AS i
    LEFT JOIN firsts f ON f.org_id = b.org_id AND f.run_id = b.run_id AND f.block = b.block AND f.pos = i
    GROUP BY b.org_id, b.run_id, b.project_id, b.block;

    DROP TABLE test_results;
  `.execute(db);

  await isolateTenantTables(db, ['tests', 'run_blocks', 'result_details']);
}
