import { field } from '../lib/form.ts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client.ts';
import { day, Loaded } from '../components/status.tsx';
import { issueKey, issuePath, type IssueProps } from '../api/issue.ts';
import { useInvalidateIssue } from './issue.tsx';

const STATUSES = ['pending', 'ready', 'waiting', 'in_progress', 'done', 'blocked'] as const;
type Status = (typeof STATUSES)[number];

interface Activity {
  key: string;
  title: string;
  ownerRole: string;
  status: string;
  version: number;
  dependsOn: string[];
  schedule: {
    earliestStart: string;
    earliestFinish: string;
    latestStart: string;
    latestFinish: string;
    critical: boolean;
    overdue: boolean;
  } | null;
}

/** Earliest (solid) and latest (outlined) windows per activity, dependencies as lines. */
function Timeline({ items, expectedFinish }: { items: Activity[]; expectedFinish: string | null }) {
  const scheduled = items.filter((a) => a.schedule !== null);
  if (scheduled.length === 0) return null;
  const times = scheduled.flatMap((a) => [
    Date.parse(a.schedule!.earliestStart),
    Date.parse(a.schedule!.latestFinish),
  ]);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, expectedFinish ? Date.parse(expectedFinish) : 0);
  const left = 180;
  const w = 640;
  const row = 28;
  const h = scheduled.length * row + 24;
  const x = (iso: string) =>
    left + ((Date.parse(iso) - t0) / Math.max(1, t1 - t0)) * (w - left - 10);
  const index = new Map(scheduled.map((a, i) => [a.key, i]));
  return (
    <svg
      width="100%"
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={`Timeline of ${scheduled.length} activities from ${day(new Date(t0).toISOString())} to ${day(new Date(t1).toISOString())}`}
    >
      {scheduled.map((a, i) => {
        const s = a.schedule!;
        const y = i * row + 4;
        return (
          <g key={a.key}>
            <text x={0} y={y + 15} fontSize="11" fill="#111">
              {a.title.slice(0, 26)}
              {s.critical ? ' ★' : ''}
              {s.overdue ? ' ⚠' : ''}
            </text>
            <rect
              x={x(s.latestStart)}
              y={y + 2}
              width={Math.max(2, x(s.latestFinish) - x(s.latestStart))}
              height={row - 10}
              fill="none"
              stroke="#6b7280"
              strokeDasharray="3 2"
            />
            <rect
              x={x(s.earliestStart)}
              y={y + 5}
              width={Math.max(2, x(s.earliestFinish) - x(s.earliestStart))}
              height={row - 16}
              fill={s.overdue ? '#b91c1c' : s.critical ? '#b45309' : '#1d4ed8'}
            >
              <title>{`${a.title}: earliest ${day(s.earliestStart)}–${day(s.earliestFinish)}, latest finish ${day(s.latestFinish)}${s.critical ? ', on the critical path' : ''}${s.overdue ? ', overdue' : ''}`}</title>
            </rect>
            {a.dependsOn.map((d) => {
              const j = index.get(d);
              const dep = j === undefined ? undefined : scheduled[j]?.schedule;
              if (j === undefined || !dep) return null;
              return (
                <line
                  key={d}
                  x1={x(dep.earliestFinish)}
                  y1={j * row + 4 + row / 2}
                  x2={x(s.earliestStart)}
                  y2={y + row / 2}
                  stroke="#374151"
                  strokeWidth="1"
                />
              );
            })}
          </g>
        );
      })}
      {expectedFinish && (
        <g>
          <line
            x1={x(expectedFinish)}
            x2={x(expectedFinish)}
            y1={0}
            y2={h - 14}
            stroke="#15803d"
            strokeWidth="2"
          />
          <text x={Math.min(x(expectedFinish), w - 120)} y={h - 2} fontSize="10" fill="#14532d">
            PERT finish {day(expectedFinish)}
          </text>
        </g>
      )}
    </svg>
  );
}

export function Activities(props: IssueProps) {
  const invalidate = useInvalidateIssue(props);
  const activities = useQuery({
    queryKey: issueKey(props, 'activities'),
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/activities', {
          params: issuePath(props),
        }),
      ),
  });
  const [chosen, setChosen] = useState('');
  const update = useMutation({
    mutationFn: async (v: { key: string; version: number; status: Status }) =>
      ok(
        await api.PATCH('/api/v1/orgs/{org}/projects/{project}/issues/{number}/activities/{key}', {
          params: { path: { ...issuePath(props).path, key: v.key } },
          body: { version: v.version, status: v.status },
        }),
      ),
    onSuccess: () => invalidate(),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const key = field(f, 'activity');
    const a = activities.data?.items.find((i) => i.key === key);
    if (a === undefined) return;
    update.mutate({ key, version: a.version, status: field(f, 'status') as Status });
  };
  return (
    <section aria-labelledby="activities" className="card">
      <h2 id="activities">Activities</h2>
      <Loaded query={activities} label="Loading activities">
        {(data) =>
          data.items.length === 0 ? (
            <p>No activities planned.</p>
          ) : (
            <>
              <Timeline items={data.items} expectedFinish={data.forecast.expectedFinish} />
              <p className="muted">
                Solid bar: earliest window; dashed outline: latest window; ★ critical path; ⚠
                overdue.
              </p>
              <table>
                <caption className="sr-only">Activities</caption>
                <thead>
                  <tr>
                    <th scope="col">Activity</th>
                    <th scope="col">Owner</th>
                    <th scope="col">Status</th>
                    <th scope="col">Earliest finish</th>
                    <th scope="col">Latest finish</th>
                    <th scope="col">Flags</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((a) => (
                    <tr key={a.key} data-activity={a.key}>
                      <td>{a.title}</td>
                      <td>{a.ownerRole}</td>
                      <td>{a.status.replace(/_/g, ' ')}</td>
                      <td>{day(a.schedule?.earliestFinish)}</td>
                      <td>{day(a.schedule?.latestFinish)}</td>
                      <td>
                        {a.schedule?.critical ? 'critical path ' : ''}
                        {a.schedule?.overdue ? 'overdue' : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p>
                Critical path: {data.forecast.criticalPath.join(' → ') || '—'}; expected finish{' '}
                {day(data.forecast.expectedFinish)}
              </p>
              <form onSubmit={submit} className="toolbar" aria-label="Update an activity">
                <label>
                  Activity
                  <select
                    name="activity"
                    value={chosen}
                    onChange={(e) => setChosen(e.target.value)}
                    required
                  >
                    <option value="">Choose…</option>
                    {data.items.map((a) => (
                      <option key={a.key} value={a.key}>
                        {a.title}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  New status
                  <select name="status" defaultValue="in_progress">
                    {STATUSES.map((s) => (
                      <option key={s} value={s}>
                        {s.replace(/_/g, ' ')}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="submit" disabled={update.isPending}>
                  Update activity
                </button>
                {update.error && (
                  <p role="alert" className="error">
                    {update.error.message}
                  </p>
                )}
              </form>
            </>
          )
        }
      </Loaded>
    </section>
  );
}
