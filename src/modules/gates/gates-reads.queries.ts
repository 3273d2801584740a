import { sql, type CompiledQuery } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { IssueReport } from '../../domain/gate-report.ts';

/** What an issue's gates read shows, or which of the project and the issue is missing. */
export type IssueGatesState =
  | { found: 'no project' }
  | { found: 'no issue' }
  | {
      found: 'issue';
      projectId: string;
      /** The stored report; undefined: the issue was never judged. */
      report: IssueReport | undefined;
      /** The stored quality configuration when there is no report (undefined: the default). */
      config: unknown;
      /** The newest `limit` state changes, newest first. */
      history: {
        gate_key: string;
        from_state: string | null;
        to_state: string;
        reason: string;
        run_id: string | null;
        created_at: Date;
      }[];
      newestRun: { id: string; status: string; uploads: number; shards: number | null } | undefined;
    };

/**
 * The project (by key), its tracked issue by number, the issue's stored report (or, without
 * one, the project's stored quality configuration), its newest state changes and its newest
 * run: one statement instead of six, because on 2 busy cores each round trip costs more
 * than these reads themselves. The state changes ride as parallel arrays, parsed by pg with
 * their columns' own types.
 */
export function issueGatesStatement(
  db: Executor,
  orgId: string,
  projectKey: string,
  number: number,
  limit: number,
): CompiledQuery<IssueGatesRow> {
  return sql<IssueGatesRow>`
    WITH p AS (SELECT id FROM projects WHERE org_id = ${orgId} AND key = ${projectKey}),
    i AS (
      SELECT id FROM tracked_issues
      WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p) AND number = ${number}
    ),
    g AS (SELECT report FROM gate_reports WHERE org_id = ${orgId} AND issue_id = (SELECT id FROM i)),
    c AS (
      SELECT config FROM quality_configs
      WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p) AND NOT EXISTS (SELECT 1 FROM g)
    )
    SELECT p.id AS project_id, i.id AS issue_id, (SELECT report FROM g) AS report,
      (SELECT config FROM c) AS config, EXISTS (SELECT 1 FROM c) AS configured,
      h.h_gates, h.h_from, h.h_to, h.h_reasons, h.h_runs, h.h_at,
      n.id AS run_id, n.status AS run_status, n.uploads AS run_uploads, n.shards AS run_shards
    FROM p
    LEFT JOIN i ON true
    LEFT JOIN LATERAL (
      SELECT array_agg(gate_key ORDER BY id DESC) AS h_gates,
        array_agg(from_state ORDER BY id DESC) AS h_from, array_agg(to_state ORDER BY id DESC) AS h_to,
        array_agg(reason ORDER BY id DESC) AS h_reasons, array_agg(run_id ORDER BY id DESC) AS h_runs,
        array_agg(created_at ORDER BY id DESC) AS h_at
      FROM (
        SELECT * FROM gate_state_changes
        WHERE org_id = ${orgId} AND issue_id = i.id ORDER BY id DESC LIMIT ${limit}
      ) newest
    ) h ON true
    LEFT JOIN LATERAL (
      SELECT id, status, uploads, shards FROM test_runs
      WHERE org_id = ${orgId} AND project_id = p.id AND issue_number = ${number}
      ORDER BY id DESC LIMIT 1
    ) n ON i.id IS NOT NULL`.compile(db);
}

/** The row of issueGatesStatement (none: no such project). */
interface IssueGatesRow {
  project_id: string;
  issue_id: string | null;
  report: IssueReport | null;
  config: unknown;
  configured: boolean | null;
  h_gates: string[] | null;
  h_from: (string | null)[] | null;
  h_to: string[] | null;
  h_reasons: string[] | null;
  h_runs: (string | null)[] | null;
  h_at: Date[] | null;
  run_id: string | null;
  run_status: string | null;
  run_uploads: number | null;
  run_shards: number | null;
}

/** issueGatesStatement's answer as what the issue's gates read shows. */
export function issueGatesState(rows: IssueGatesRow[]): IssueGatesState {
  const row = rows[0];
  if (row === undefined) return { found: 'no project' };
  if (row.issue_id === null) return { found: 'no issue' };
  const h = {
    from: row.h_from ?? [],
    to: row.h_to ?? [],
    reasons: row.h_reasons ?? [],
    runs: row.h_runs ?? [],
    at: row.h_at ?? [],
  };
  return {
    found: 'issue',
    projectId: row.project_id,
    report: row.report ?? undefined,
    config: row.configured === true ? row.config : undefined,
    history: (row.h_gates ?? []).map((gate_key, k) => ({
      gate_key,
      from_state: h.from[k] ?? null,
      to_state: h.to[k]!,
      reason: h.reasons[k]!,
      run_id: h.runs[k] ?? null,
      created_at: h.at[k]!,
    })),
    newestRun:
      row.run_id === null
        ? undefined
        : {
            id: row.run_id,
            status: row.run_status!,
            uploads: row.run_uploads!,
            shards: row.run_shards,
          },
  };
}
