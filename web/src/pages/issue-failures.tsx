import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, authedFetch, ok } from '../api/client.ts';
import { projectTests } from '../api/history.ts';
import { Loaded } from '../components/status.tsx';
import { issueKey, type IssueProps } from '../api/issue.ts';

const runPath = (p: IssueProps, runId: string) => ({
  path: { org: p.org, project: p.project, runId },
});

function useTriage(props: IssueProps, runId: string | null) {
  return useQuery({
    queryKey: ['org', props.org, 'project', props.project, 'run', runId ?? '', 'triage'],
    enabled: runId !== null,
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/runs/{runId}/triage', {
          params: runPath(props, runId!),
        }),
      ),
  });
}

/** Failures by category and cluster; opening a cluster shows its tests' messages and stacks. */
export function Failures(props: IssueProps & { runId: string }) {
  const triage = useTriage(props, props.runId);
  return (
    <section aria-labelledby="failures" className="card">
      <h2 id="failures">Failures by category</h2>
      <Loaded query={triage} label="Loading failures">
        {(t) =>
          t.failures === 0 ? (
            <p>No failures in the latest run.</p>
          ) : (
            <ul className="plain">
              {t.categories.map((c) => (
                <li key={c.category ?? '(none)'}>
                  <details>
                    <summary>
                      {c.label ?? c.category ?? 'Uncategorised'}: {c.count} failing
                      {c.blocking ? ' (blocking)' : ''}
                    </summary>
                    <ul className="plain">
                      {c.clusters.map((cl) => (
                        <li key={cl.signature}>
                          <Cluster {...props} cluster={cl} />
                        </li>
                      ))}
                    </ul>
                  </details>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </section>
  );
}

interface ClusterData {
  signature: string;
  count: number;
  samples: { id: string; classname: string; name: string }[];
}

function Cluster(props: IssueProps & { runId: string; cluster: ClusterData }) {
  const [open, setOpen] = useState(false);
  const failed = useQuery({
    queryKey: ['org', props.org, 'project', props.project, 'run', props.runId, 'results', 'failed'],
    enabled: open,
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/runs/{runId}/results', {
          params: { ...runPath(props, props.runId), query: { limit: 1000, status: 'failed' } },
        }),
      ),
  });
  const byId = new Map((failed.data?.items ?? []).map((r) => [r.id, r]));
  return (
    <details onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        {props.cluster.count} × <code>{props.cluster.signature.slice(0, 160)}</code>
      </summary>
      <ul>
        {props.cluster.samples.map((s) => {
          const r = byId.get(s.id);
          return (
            <li key={s.id}>
              {s.classname} › {s.name}
              {r?.failureMessage && <p className="message">{r.failureMessage}</p>}
              {r?.failureText && <pre className="stack">{r.failureText}</pre>}
            </li>
          );
        })}
      </ul>
    </details>
  );
}

/** Flaky tests (with the runs as evidence) and quarantined ones, with a quarantine button. */
export function FlakyTests(props: IssueProps & { runId: string | null }) {
  const triage = useTriage(props, props.runId);
  const tests = useQuery({
    queryKey: ['org', props.org, 'project', props.project, 'tests'],
    queryFn: () => projectTests(props.org, props.project),
  });
  const client = useQueryClient();
  const quarantine = useMutation({
    mutationFn: async ({ testId, on }: { testId: string; on: boolean }) => {
      const res = await authedFetch(
        `/api/v1/orgs/${encodeURIComponent(props.org)}/projects/${encodeURIComponent(props.project)}/tests/${encodeURIComponent(testId)}/quarantine`,
        on
          ? {
              method: 'PUT',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ reason: 'Flaky: quarantined from the dashboard' }),
            }
          : { method: 'DELETE' },
      );
      if (res.status === 404)
        throw new Error('Quarantine is not available for this test on this server.');
      if (!res.ok) {
        const p = (await res.json().catch(() => ({}))) as { detail?: string };
        throw new Error(p.detail ?? `Quarantine failed (${res.status})`);
      }
    },
    onSuccess: async () => {
      await client.invalidateQueries({
        queryKey: ['org', props.org, 'project', props.project, 'tests'],
      });
      await client.invalidateQueries({ queryKey: issueKey(props) });
    },
  });
  const quarantined = new Set((tests.data ?? []).filter((t) => t.quarantined).map((t) => t.id));
  const flaky = triage.data?.flaky ?? [];
  const historyFlaky = (tests.data ?? []).filter(
    (t) => t.flaky && !flaky.some((f) => f.testId === t.id),
  );
  return (
    <section aria-labelledby="flaky" className="card">
      <h2 id="flaky">Flaky and quarantined tests</h2>
      {quarantine.error && (
        <p role="alert" className="error">
          {quarantine.error.message}
        </p>
      )}
      {flaky.length === 0 && historyFlaky.length === 0 && quarantined.size === 0 ? (
        <p>No flaky tests.</p>
      ) : (
        <table>
          <caption className="sr-only">Flaky and quarantined tests</caption>
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col">Evidence</th>
              <th scope="col">Quarantine</th>
            </tr>
          </thead>
          <tbody>
            {[
              ...flaky.map((f) => ({
                id: f.testId,
                label: `${f.classname} › ${f.name}`,
                evidence: `${f.reason}; passed in ${f.passedIn.length}, failed in ${f.failedIn.length} run(s)`,
              })),
              ...historyFlaky.map((t) => ({
                id: t.id,
                label: `${t.classname} › ${t.name}`,
                evidence: `flips in ${((t.flipRate ?? 0) * 100).toFixed(0)}% of recent runs`,
              })),
              ...(tests.data ?? [])
                .filter((t) => t.quarantined && !t.flaky && !flaky.some((f) => f.testId === t.id))
                .map((t) => ({
                  id: t.id,
                  label: `${t.classname} › ${t.name}`,
                  evidence: 'quarantined',
                })),
            ].map((row) => {
              const isQ = quarantined.has(row.id);
              return (
                <tr key={row.id}>
                  <td>{row.label}</td>
                  <td>{row.evidence}</td>
                  <td>
                    {isQ && <span className="state state-pending">Quarantined </span>}
                    <button
                      type="button"
                      disabled={quarantine.isPending}
                      onClick={() => quarantine.mutate({ testId: row.id, on: !isQ })}
                      aria-label={`${isQ ? 'Release' : 'Quarantine'} ${row.label}`}
                    >
                      {isQ ? 'Release' : 'Quarantine'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
