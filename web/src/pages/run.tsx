import { useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { api, ok } from '../api/client.ts';
import { testHistory } from '../api/history.ts';
import { HistoryStrip } from '../components/charts.tsx';
import { ErrorView, GateState, Loaded, pct, when } from '../components/status.tsx';
import { Link, paths } from '../router.tsx';

interface Props {
  org: string;
  project: string;
  runId: string;
}

type Status = 'passed' | 'failed' | 'error' | 'skipped';
interface Row {
  id: string;
  testId: string;
  classname: string;
  name: string;
  status: string;
  durationMs: number | null;
  failureMessage: string | null;
  /** Lower-cased "classname name message" for the search box. */
  haystack: string;
}

/**
 * Every result of the run, a page of 1000 at a time, into one array; the table renders only
 * the rows on screen, so a 100,000-result run scrolls like a 100-result one.
 */
function useAllResults(props: Props, status: Status | '') {
  const [rows, setRows] = useState<Row[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    setRows([]);
    setDone(false);
    setError(null);
    void (async () => {
      let cursor: string | undefined;
      const all: Row[] = [];
      try {
        do {
          const page = ok(
            await api.GET('/api/v1/orgs/{org}/projects/{project}/runs/{runId}/results', {
              params: {
                path: props,
                query: {
                  limit: 1000,
                  ...(cursor ? { cursor } : {}),
                  ...(status ? { status } : {}),
                },
              },
            }),
          );
          if (cancelled) return;
          for (const r of page.items) {
            all.push({
              id: r.id,
              testId: r.testId,
              classname: r.classname,
              name: r.name,
              status: r.status,
              durationMs: r.durationMs,
              failureMessage: r.failureMessage,
              haystack: `${r.classname} ${r.name} ${r.failureMessage ?? ''}`.toLowerCase(),
            });
          }
          setRows(all.slice());
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined && !cancelled);
        if (!cancelled) setDone(true);
      } catch (e) {
        if (!cancelled) setError(e);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [props.org, props.project, props.runId, status]);
  return { rows, done, error };
}

export default function RunPage(props: Props) {
  const { org, project, runId } = props;
  const run = useQuery({
    queryKey: ['org', org, 'project', project, 'run', runId],
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/runs/{runId}', {
          params: { path: props },
        }),
      ),
  });
  const [status, setStatus] = useState<Status | ''>('');
  const [search, setSearch] = useState('');
  const needle = useDeferredValue(search.trim().toLowerCase());
  const results = useAllResults(props, status);
  const shown = useMemo(
    () => (needle === '' ? results.rows : results.rows.filter((r) => r.haystack.includes(needle))),
    [results.rows, needle],
  );
  const [selected, setSelected] = useState<Row | null>(null);
  if (run.error) return <ErrorView error={run.error} />;
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href={paths.org(org)}>{org}</Link> › {project} › run
      </nav>
      <h1>Test run {run.data ? when(run.data.createdAt) : ''}</h1>
      <Loaded query={run} label="Loading run">
        {(r) => (
          <section aria-labelledby="totals" className="card">
            <h2 id="totals">Totals</h2>
            <dl className="facts">
              <div>
                <dt>Tests</dt>
                <dd>{r.totals.tests}</dd>
              </div>
              <div>
                <dt>Passed</dt>
                <dd>{r.totals.passed}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd>{r.totals.failed}</dd>
              </div>
              <div>
                <dt>Errored</dt>
                <dd>{r.totals.errored}</dd>
              </div>
              <div>
                <dt>Skipped</dt>
                <dd>{r.totals.skipped}</dd>
              </div>
              <div>
                <dt>Flaky</dt>
                <dd>{r.totals.flaky}</dd>
              </div>
              <div>
                <dt>Pass rate</dt>
                <dd>{pct(r.passRate)}</dd>
              </div>
              <div>
                <dt>Branch / commit</dt>
                <dd>
                  {r.branch ?? '—'} / {r.commit?.slice(0, 12) ?? '—'}
                </dd>
              </div>
              {r.issue !== null && (
                <div>
                  <dt>Issue</dt>
                  <dd>
                    <Link href={paths.issue(org, project, r.issue)}>#{r.issue}</Link>{' '}
                    {r.gates && <GateState state={r.gates.overall} />}
                  </dd>
                </div>
              )}
            </dl>
          </section>
        )}
      </Loaded>
      <section aria-labelledby="results" className="card">
        <h2 id="results">Results</h2>
        <div className="toolbar">
          <label>
            Status
            <select value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
              <option value="">All</option>
              <option value="passed">Passed</option>
              <option value="failed">Failed</option>
              <option value="error">Error</option>
              <option value="skipped">Skipped</option>
            </select>
          </label>
          <label>
            Search tests
            <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
          </label>
          <span role="status" className="muted">
            {results.done ? `${shown.length} shown` : `Loading… ${results.rows.length} loaded`}
          </span>
        </div>
        {results.error !== null && <ErrorView error={results.error} />}
        <ResultsTable rows={shown} onOpen={setSelected} />
      </section>
      {selected !== null && (
        <TestHistory {...props} row={selected} onClose={() => setSelected(null)} />
      )}
    </>
  );
}

const ROW = 32;

function ResultsTable({ rows, onOpen }: { rows: Row[]; onOpen: (r: Row) => void }) {
  const parent = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  return (
    <div role="table" aria-label="Test results" aria-rowcount={rows.length + 1} className="vtable">
      <div role="rowgroup">
        <div role="row" className="vrow vhead" aria-rowindex={1}>
          <span role="columnheader">Test</span>
          <span role="columnheader">Status</span>
          <span role="columnheader">Duration</span>
          <span role="columnheader">Message</span>
        </div>
      </div>
      <div
        ref={parent}
        className="vbody"
        tabIndex={0}
        role="rowgroup"
        aria-label="Results, scrollable"
      >
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {items.map((v) => {
            const r = rows[v.index]!;
            return (
              <div
                role="row"
                aria-rowindex={v.index + 2}
                key={r.id}
                className="vrow"
                style={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  right: 0,
                  height: ROW,
                  transform: `translateY(${v.start}px)`,
                }}
              >
                <span role="cell">
                  <button type="button" className="linklike" onClick={() => onOpen(r)}>
                    {r.classname} › {r.name}
                  </button>
                </span>
                <span role="cell" className={`status-${r.status}`}>
                  {r.status}
                </span>
                <span role="cell">{r.durationMs === null ? '—' : `${r.durationMs} ms`}</span>
                <span role="cell" className="clip" title={r.failureMessage ?? ''}>
                  {r.failureMessage ?? ''}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function TestHistory(props: Props & { row: Row; onClose: () => void }) {
  const history = useQuery({
    queryKey: ['org', props.org, 'project', props.project, 'test', props.row.testId, 'history'],
    queryFn: () => testHistory(props.org, props.project, props.row.testId),
  });
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [props.row.testId]);
  return (
    <section aria-labelledby="history" className="card">
      <h2 id="history" ref={heading} tabIndex={-1}>
        History of {props.row.classname} › {props.row.name}
      </h2>
      <Loaded query={history} label="Loading history">
        {(h) =>
          h === null ? (
            <p>Test history is not available on this server.</p>
          ) : h.length === 0 ? (
            <p>No earlier runs.</p>
          ) : (
            <>
              <HistoryStrip
                entries={h.map((e) => ({
                  status: e.status,
                  durationMs: e.durationMs,
                  label: when(e.at),
                }))}
              />
              <p className="muted">
                Top: status per run, oldest first (P passed, F failed, E error, S skipped); bottom:
                duration.
              </p>
            </>
          )
        }
      </Loaded>
      <button type="button" onClick={props.onClose}>
        Close history
      </button>
    </section>
  );
}
