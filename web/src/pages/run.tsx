import { useQuery } from '@tanstack/react-query';
import {
  memo,
  useCallback,
  useDeferredValue,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type ReactNode,
  type UIEvent,
} from 'react';
import { flushSync } from 'react-dom';
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
}

/**
 * The run's results as they arrive, a page of 1000 at a time, appended in place to one array
 * that lives as long as the status filter: a page costs its own 1000 rows, never a copy or a
 * re-scan of the rows before it. `count` is how many are in `rows` (and what re-renders).
 */
function useAllResults(props: Props, status: Status | '') {
  const [rows, setRows] = useState<Row[]>([]);
  const [count, setCount] = useState(0);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    const all: Row[] = [];
    setRows(all);
    setCount(0);
    setDone(false);
    setError(null);
    void (async () => {
      let cursor: string | undefined;
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
            });
          }
          setCount(all.length);
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
  return { rows, count, done, error };
}

/**
 * Each row's lower-cased "classname name message", made the first time a search looks at
 * the row (not for every row as it arrives: 100,000 strings the heap keeps and the garbage
 * collector walks, for a search box that is mostly empty).
 */
const haystacks = new WeakMap<Row[], string[]>();
function haystack(rows: Row[], i: number): string {
  let hay = haystacks.get(rows);
  if (hay === undefined) haystacks.set(rows, (hay = []));
  const r = rows[i]!;
  return (hay[i] ??= `${r.classname} ${r.name} ${r.failureMessage ?? ''}`.toLowerCase());
}

/**
 * The rows matching `needle`, kept up to date as rows are appended: only rows not yet looked
 * at are searched, so a page arriving under a search costs its own 1000 rows. A new needle
 * (or a new array) starts over. The result array is appended in place too; `count` is the
 * figure to re-render on.
 */
function useIncrementalFilter(rows: Row[], count: number, needle: string) {
  const state = useRef({ rows, needle, scanned: 0, matches: [] as Row[] });
  if (state.current.rows !== rows || state.current.needle !== needle) {
    state.current = { rows, needle, scanned: 0, matches: [] };
  }
  const cur = state.current;
  if (needle === '') return { rows, count };
  for (; cur.scanned < count; cur.scanned++) {
    if (haystack(rows, cur.scanned).includes(needle)) cur.matches.push(rows[cur.scanned]!);
  }
  return { rows: cur.matches, count: cur.matches.length };
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
  const shown = useIncrementalFilter(results.rows, results.count, needle);
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
            {results.done ? `${shown.count} shown` : `Loading… ${results.count} loaded`}
          </span>
        </div>
        {results.error !== null && <ErrorView error={results.error} />}
        <ResultsTable rows={shown.rows} count={shown.count} onOpen={setSelected} />
      </section>
      {selected !== null && (
        <TestHistory {...props} row={selected} onClose={() => setSelected(null)} />
      )}
    </>
  );
}

const ROW = 32;
/** Rows drawn beyond each edge of the scroller, so a fast scroll never shows a gap. */
const OVERSCAN = 12;

/**
 * The rows on screen of a fixed-height table: which ones is arithmetic on scrollTop, so the
 * work per scroll or per arriving page is the ~50 rows drawn, whatever the number of rows.
 * A row's key is its index modulo the number of rows drawn: a row scrolled out lends its DOM
 * to the row scrolled in (its text and offset change) instead of being removed while another
 * is created, and rows that stay on screen are not rendered again (ResultRow is memoized).
 */
function ResultsTable({
  rows,
  count,
  onOpen,
}: {
  rows: Row[];
  count: number;
  onOpen: (r: Row) => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  useLayoutEffect(() => {
    const el = parent.current;
    if (el === null) return;
    setHeight(el.clientHeight);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  // A new filter shows its rows from the top.
  useLayoutEffect(() => {
    if (parent.current !== null) parent.current.scrollTop = 0;
    setTop(0);
  }, [rows]);
  const onScroll = useCallback((e: UIEvent<HTMLDivElement>) => {
    const next = e.currentTarget.scrollTop;
    // Drawn before the frame is painted, as the browser scrolls (no blank band).
    flushSync(() => setTop(next));
  }, []);
  const slots = Math.ceil(height / ROW) + 2 * OVERSCAN + 1;
  const first = Math.max(0, Math.min(Math.floor(top / ROW) - OVERSCAN, count - slots));
  const last = Math.min(count, first + slots);
  const drawn: ReactNode[] = [];
  for (let i = first; i < last; i++)
    drawn.push(<ResultRow key={i % slots} row={rows[i]!} index={i} onOpen={onOpen} />);
  return (
    <div role="table" aria-label="Test results" aria-rowcount={count + 1} className="vtable">
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
        onScroll={onScroll}
      >
        <div style={{ height: count * ROW, position: 'relative' }}>{drawn}</div>
      </div>
    </div>
  );
}

const ResultRow = memo(function ResultRow({
  row: r,
  index,
  onOpen,
}: {
  row: Row;
  index: number;
  onOpen: (r: Row) => void;
}) {
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className="vrow"
      style={{
        position: 'absolute',
        top: 0,
        left: 0,
        right: 0,
        height: ROW,
        transform: `translateY(${index * ROW}px)`,
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
});

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
