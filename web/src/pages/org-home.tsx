import { field } from '../lib/form.ts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { projectTests } from '../api/history.ts';
import { api, ok } from '../api/client.ts';
import { Sparkline, TrendChart } from '../components/charts.tsx';
import { clock, ErrorView, GateState, Loaded, pct } from '../components/status.tsx';
import { Link, paths } from '../router.tsx';

type Project = { key: string; name: string; id: string };

export function OrgHome({ org }: { org: string }) {
  const projects = useQuery({
    queryKey: ['org', org, 'projects'],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects', {
          params: { path: { org }, query: { limit: 100 } },
        }),
      ),
  });
  const orgInfo = useQuery({
    queryKey: ['org', org, 'info'],
    queryFn: async () => ok(await api.GET('/api/v1/orgs/{org}', { params: { path: { org } } })),
  });
  if (orgInfo.error) return <ErrorView error={orgInfo.error} />;
  return (
    <>
      <h1>{orgInfo.data?.name ?? org}</h1>
      <Loaded query={projects} label="Loading projects">
        {(data) => (
          <>
            {data.items.length === 0 && <p>No projects yet: create one below.</p>}
            {data.items.map((p) => (
              <ProjectBlock key={p.id} org={org} project={p} />
            ))}
          </>
        )}
      </Loaded>
      <NewProject org={org} />
    </>
  );
}

const STATE_ORDER: Record<string, number> = { blocked: 0, pending: 1, passed: 2 };

function ProjectBlock({ org, project }: { org: string; project: Project }) {
  const p = project.key;
  const issues = useQuery({
    queryKey: ['org', org, 'project', p, 'issues'],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues', {
          params: { path: { org, project: p }, query: { limit: 200 } },
        }),
      ),
  });
  const runs = useQuery({
    queryKey: ['org', org, 'project', p, 'runs'],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/runs', {
          params: { path: { org, project: p }, query: { limit: 100 } },
        }),
      ),
  });
  const tests = useQuery({
    queryKey: ['org', org, 'project', p, 'tests'],
    queryFn: () => projectTests(org, p),
  });
  const [filter, setFilter] = useState('');
  const [stateFilter, setStateFilter] = useState('all');
  const [sort, setSort] = useState('number');

  const chronological = useMemo(
    () => [...(runs.data?.items ?? [])].sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    [runs.data],
  );
  const ratesByIssue = useMemo(() => {
    const m = new Map<number, number[]>();
    for (const r of chronological) {
      if (r.issue === null || r.passRate === null) continue;
      m.set(r.issue, [...(m.get(r.issue) ?? []), r.passRate]);
    }
    return m;
  }, [chronological]);

  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const list = (issues.data?.items ?? []).filter(
      (i) =>
        (needle === '' || `#${i.number} ${i.title} ${i.phase}`.toLowerCase().includes(needle)) &&
        (stateFilter === 'all' || (i.overall ?? 'none') === stateFilter),
    );
    const rate = (n: number) => ratesByIssue.get(n)?.at(-1) ?? -1;
    return list.sort((a, b) =>
      sort === 'state'
        ? (STATE_ORDER[a.overall ?? ''] ?? 3) - (STATE_ORDER[b.overall ?? ''] ?? 3)
        : sort === 'passRate'
          ? rate(a.number) - rate(b.number)
          : sort === 'phase'
            ? a.phase.localeCompare(b.phase)
            : a.number - b.number,
    );
  }, [issues.data, filter, stateFilter, sort, ratesByIssue]);

  const topFailing = (tests.data ?? [])
    .filter((t) => (t.failureRate ?? 0) > 0)
    .sort((a, b) => (b.failureRate ?? 0) - (a.failureRate ?? 0))
    .slice(0, 5);
  const topFlaky = (tests.data ?? [])
    .filter((t) => t.flaky || (t.flipRate ?? 0) > 0)
    .sort((a, b) => (b.flipRate ?? 0) - (a.flipRate ?? 0))
    .slice(0, 5);
  const h = `project-${p}`;

  return (
    <section aria-labelledby={h} className="card">
      <h2 id={h}>
        {project.name} <span className="muted">({p})</span>
      </h2>
      <div className="toolbar">
        <label>
          Filter issues
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <label>
          Gate state
          <select value={stateFilter} onChange={(e) => setStateFilter(e.target.value)}>
            <option value="all">All</option>
            <option value="blocked">Blocked</option>
            <option value="pending">Pending</option>
            <option value="passed">Passed</option>
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setSort(e.target.value)}>
            <option value="number">Issue number</option>
            <option value="state">Gate state</option>
            <option value="passRate">Pass rate</option>
            <option value="phase">Phase</option>
          </select>
        </label>
      </div>
      <Loaded query={issues} label="Loading issues">
        {() =>
          rows.length === 0 ? (
            <p>No tracked issues{filter || stateFilter !== 'all' ? ' match' : ''}.</p>
          ) : (
            <table>
              <caption className="sr-only">Tracked issues of {project.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Issue</th>
                  <th scope="col">Gates</th>
                  <th scope="col">Phase</th>
                  <th scope="col">Pass rate</th>
                  <th scope="col">Open escalations</th>
                  <th scope="col">Overdue activities</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((i) => {
                  const rates = ratesByIssue.get(i.number) ?? [];
                  return (
                    <tr key={i.id}>
                      <td>
                        <Link href={paths.issue(org, p, i.number)}>
                          #{i.number} {i.title}
                        </Link>
                      </td>
                      <td>
                        <GateState state={i.overall} />
                      </td>
                      <td>{i.phase.replace(/_/g, ' ')}</td>
                      <td>
                        {pct(rates.at(-1))}{' '}
                        <Sparkline
                          values={rates}
                          label={`Pass rate over ${rates.length} runs of #${i.number}`}
                        />
                      </td>
                      <td>
                        <OpenEscalations org={org} project={p} n={i.number} />
                      </td>
                      <td>
                        <Overdue org={org} project={p} n={i.number} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Loaded>
      <div className="grid">
        <TrendChart
          title={`Pass rate of ${project.name}'s recent runs`}
          points={chronological
            .slice(-30)
            .map((r) => ({ label: new Date(r.createdAt).toLocaleString(), rate: r.passRate }))}
        />
        {Array.isArray(tests.data) && (
          <div>
            <h3>Top failing tests</h3>
            {topFailing.length === 0 ? (
              <p>None failing.</p>
            ) : (
              <ol>
                {topFailing.map((t) => (
                  <li key={t.id}>
                    {t.classname} › {t.name}: fails {pct(t.failureRate)}
                  </li>
                ))}
              </ol>
            )}
            <h3>Top flaky tests</h3>
            {topFlaky.length === 0 ? (
              <p>None flaky.</p>
            ) : (
              <ol>
                {topFlaky.map((t) => (
                  <li key={t.id}>
                    {t.classname} › {t.name}: flips {pct(t.flipRate)}
                    {t.quarantined ? ' (quarantined)' : ''}
                  </li>
                ))}
              </ol>
            )}
          </div>
        )}
      </div>
      <h3>Recent runs</h3>
      <ul className="runs">
        {[...chronological]
          .reverse()
          .slice(0, 5)
          .map((r) => (
            <li key={r.id}>
              <Link href={paths.run(org, p, r.id)}>
                Run {new Date(r.createdAt).toLocaleString()}
                {r.issue !== null ? ` (#${r.issue})` : ''}
              </Link>
              : {r.totals.passed} of {r.totals.tests} passed, {pct(r.passRate)}
            </li>
          ))}
      </ul>
      <NewIssue org={org} project={p} />
    </section>
  );
}

function OpenEscalations({ org, project, n }: { org: string; project: string; n: number }) {
  const q = useQuery({
    queryKey: ['org', org, 'project', project, 'issue', n, 'escalations'],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/escalations', {
          params: { path: { org, project, number: n }, query: { limit: 200 } },
        }),
      ),
  });
  const open = (q.data?.items ?? []).filter((e) => e.resolvedAt === null);
  if (open.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {open.map((e) => (
        <li key={e.id}>
          {e.role}:{' '}
          {e.acknowledgedAt === null
            ? `ack ${clock(e.remaining.ackSeconds)}`
            : `answer ${clock(e.remaining.answerSeconds)}`}
        </li>
      ))}
    </ul>
  );
}

function Overdue({ org, project, n }: { org: string; project: string; n: number }) {
  const q = useQuery({
    queryKey: ['org', org, 'project', project, 'issue', n, 'activities'],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/activities', {
          params: { path: { org, project, number: n } },
        }),
      ),
  });
  const overdue = (q.data?.items ?? []).filter((a) => a.schedule?.overdue === true);
  if (overdue.length === 0) return <span className="muted">none</span>;
  return <span className="warn">⚠ {overdue.map((a) => a.title).join(', ')}</span>;
}

function NewProject({ org }: { org: string }) {
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: async (body: { key: string; name: string }) =>
      ok(await api.POST('/api/v1/orgs/{org}/projects', { params: { path: { org } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['org', org, 'projects'] }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ key: field(f, 'key'), name: field(f, 'name') });
    e.currentTarget.reset();
  };
  return (
    <form onSubmit={submit} className="stack card" aria-labelledby="new-project">
      <h2 id="new-project">New project</h2>
      <label>
        Project key
        <input name="key" required maxLength={64} pattern="[a-z0-9][a-z0-9-]*" />
      </label>
      <label>
        Project name
        <input name="name" required maxLength={200} />
      </label>
      {create.error && (
        <p role="alert" className="error">
          {create.error.message}
        </p>
      )}
      <button type="submit">Create project</button>
    </form>
  );
}

function NewIssue({ org, project }: { org: string; project: string }) {
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: async (body: { number: number; title: string }) =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/issues', {
          params: { path: { org, project } },
          body,
        }),
      ),
    onSuccess: () =>
      client.invalidateQueries({ queryKey: ['org', org, 'project', project, 'issues'] }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ number: Number(f.get('number')), title: field(f, 'title') });
    e.currentTarget.reset();
  };
  return (
    <details>
      <summary>Track an issue in {project}</summary>
      <form onSubmit={submit} className="stack">
        <label>
          Issue number
          <input name="number" type="number" min={1} required />
        </label>
        <label>
          Issue title
          <input name="title" required maxLength={300} />
        </label>
        {create.error && (
          <p role="alert" className="error">
            {create.error.message}
          </p>
        )}
        <button type="submit">Track issue</button>
      </form>
    </details>
  );
}
