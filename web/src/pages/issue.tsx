import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api, authedFetch, ok } from '../api/client.ts';
import { issueKey, issueQueries, type IssueProps } from '../api/issue.ts';
import { BadgeSnippet } from '../components/badge-snippet.tsx';
import { TrendChart } from '../components/charts.tsx';
import { day, ErrorView, GateState, Loaded, pct, when } from '../components/status.tsx';
import { Link, paths } from '../router.tsx';
import { Activities } from './issue-activities.tsx';
import { Failures, FlakyTests } from './issue-failures.tsx';
import { Escalations, IssueActions, Risks } from './issue-coordination.tsx';

export default function IssuePage(props: IssueProps) {
  const { org, project, number } = props;
  const issue = useQuery(issueQueries.issue(props));
  const gates = useQuery(issueQueries.gates(props));
  const report = useQuery(issueQueries.report(props));
  // The page is one issue's: when any of its reads says it does not exist (or is another
  // org's), the whole page says so once, not each section on its own.
  const missing = [issue, gates, report].find(
    (q) => (q.error as { status?: number } | null)?.status === 404,
  );
  if (issue.error ?? missing) return <ErrorView error={issue.error ?? missing?.error} />;
  const title = issue.data ? `#${issue.data.number} ${issue.data.title}` : `#${number}`;
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href={paths.org(org)}>{org}</Link> › {project} › issue #{number}
      </nav>
      <h1>{title}</h1>
      <IssueActions {...props} />
      <section aria-labelledby="overview" className="card">
        <h2 id="overview">Status overview</h2>
        <Loaded query={report} label="Loading status">
          {(r) => (
            <dl className="facts">
              <div>
                <dt>Overall</dt>
                <dd>
                  <GateState state={gates.data?.overall ?? r.gates.overall} />
                </dd>
              </div>
              <div>
                <dt>Phase</dt>
                <dd>{r.issue.phase.replace(/_/g, ' ')}</dd>
              </div>
              <div>
                <dt>Pass rate</dt>
                <dd>
                  {r.passRate
                    ? `${pct(r.passRate.rate)} (${r.passRate.passed} of ${r.passRate.ran})`
                    : '—'}
                  {typeof r.passRate?.required === 'number' &&
                    `; needs ${pct(r.passRate.required)}`}
                  {typeof r.passRate?.needed === 'number' &&
                    r.passRate.needed > 0 &&
                    ` (${r.passRate.needed} of ${r.passRate.ran} passing)`}
                </dd>
              </div>
              <div>
                <dt>Latest run</dt>
                <dd>
                  {r.run ? (
                    <Link href={paths.run(org, project, r.run.id)}>
                      {r.run.passed} passed, {r.run.failed} failed, {r.run.errored} errored,{' '}
                      {r.run.skipped} skipped
                    </Link>
                  ) : (
                    'no runs yet'
                  )}
                </dd>
              </div>
              <div>
                <dt>Review</dt>
                <dd>
                  {r.review
                    ? `${r.review.verdict.replace(/_/g, ' ')} by ${r.review.reviewer}`
                    : 'none recorded'}
                </dd>
              </div>
              <div>
                <dt>Forecast finish</dt>
                <dd>
                  {r.forecast
                    ? `${day(r.forecast.expectedFinish)}${typeof r.forecast.onTimeProbability === 'number' ? ` (${pct(r.forecast.onTimeProbability)} on time)` : ''}`
                    : '—'}
                </dd>
              </div>
            </dl>
          )}
        </Loaded>
      </section>
      <section aria-labelledby="gates" className="card">
        <h2 id="gates">Gates</h2>
        <Loaded query={gates} label="Loading gates">
          {(g) => (
            <>
              <p>
                Overall: <GateState state={g.overall} />{' '}
                <span className="muted">evaluated {when(g.evaluatedAt)}</span>
              </p>
              <ul className="gates">
                {g.gates.map((gate) => (
                  <li key={gate.key} data-gate={gate.key}>
                    <strong>{gate.name}</strong>: <GateState state={gate.state} />
                    {gate.requires.length > 0 && (
                      <span className="muted"> (requires {gate.requires.join(', ')})</span>
                    )}
                    {gate.reasons.length > 0 && (
                      <ul>
                        {gate.reasons.map((r, i) => (
                          <li key={i}>{r}</li>
                        ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ul>
              {g.criteria.length > 0 && (
                <>
                  <h3>Success criteria</h3>
                  <ul className="plain">
                    {g.criteria.map((c) => (
                      <li key={c.key}>
                        <GateState state={c.state} /> {c.text}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </>
          )}
        </Loaded>
      </section>
      {/* The sections below read the issue's parts: they wait until the issue is known to
          exist, so a missing one is said once (above), not by each section. */}
      {issue.data !== undefined && <IssueSections {...props} />}
    </>
  );
}

function IssueSections(props: IssueProps) {
  // The same queries as the page's (one cache entry each), read where they are shown.
  const gates = useQuery(issueQueries.gates(props)).data;
  const report = useQuery(issueQueries.report(props));
  return (
    <>
      <PassRateTrend {...props} threshold={report.data?.requiredPassRate?.rate ?? null} />
      {typeof gates?.runId === 'string' && <Failures {...props} runId={gates.runId} />}
      <FlakyTests {...props} runId={gates?.runId ?? null} />
      <Activities {...props} />
      <Escalations {...props} />
      <Risks {...props} />
      <Loaded query={report} label="Loading checkpoints">
        {(r) => (
          <>
            <section aria-labelledby="checkpoints" className="card">
              <h2 id="checkpoints">Checkpoints</h2>
              {r.checkpoints.length === 0 ? (
                <p>None scheduled.</p>
              ) : (
                <ul>
                  {r.checkpoints.map((c, i) => (
                    <li key={i}>
                      {c.title} ({c.schedule}); next due {when(c.nextDueAt)}
                      {c.ownerRole ? `; owner ${c.ownerRole}` : ''}
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section aria-labelledby="comms" className="card">
              <h2 id="comms">Communications</h2>
              {r.communications.length === 0 ? (
                <p>Nobody has been told anything yet.</p>
              ) : (
                <ul>
                  {r.communications.map((c, i) => (
                    <li key={i}>
                      {when(c.at)}: {c.channel.replace(/_/g, ' ')} to {c.audience}: {c.summary}
                    </li>
                  ))}
                </ul>
              )}
              {r.notes.length > 0 && (
                <>
                  <h3>Notes</h3>
                  <ul>
                    {r.notes.map((n, i) => (
                      <li key={i}>
                        {n.kind}: {n.text}{' '}
                        <span className="muted">
                          ({n.author}, {when(n.at)})
                        </span>
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </section>
          </>
        )}
      </Loaded>
      <BadgeSnippet {...props} />
    </>
  );
}

function PassRateTrend(props: IssueProps & { threshold: number | null }) {
  const runs = useQuery({
    queryKey: issueKey(props, 'runs'),
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/runs', {
          params: {
            path: { org: props.org, project: props.project },
            query: { limit: 100, issue: props.number },
          },
        }),
      ),
  });
  const points = useMemo(
    () =>
      [...(runs.data?.items ?? [])]
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map((r) => ({ label: new Date(r.createdAt).toLocaleString(), rate: r.passRate })),
    [runs.data],
  );
  return (
    <section aria-labelledby="trend" className="card">
      <h2 id="trend">Pass-rate trend</h2>
      <TrendChart
        title="Pass rate over this issue's runs"
        points={points}
        threshold={props.threshold}
      />
    </section>
  );
}

/** Downloads the Markdown report (a bearer request, so not a plain link). */
export function useDownloadReport(props: IssueProps) {
  const [error, setError] = useState<string | null>(null);
  const download = async () => {
    setError(null);
    const res = await authedFetch(
      `/api/v1/orgs/${encodeURIComponent(props.org)}/projects/${encodeURIComponent(props.project)}/issues/${props.number}/report.md`,
    );
    if (!res.ok) {
      setError(`The report could not be made (${res.status}).`);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `${props.project}-issue-${props.number}-report.md`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return { download, error };
}

export function useInvalidateIssue(props: IssueProps) {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: issueKey(props) });
}
