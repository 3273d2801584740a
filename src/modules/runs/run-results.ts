import type { CompiledQuery, Selectable } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { ResultDetailsTable } from '../../db/types-history.ts';
import { BadInput } from '../../errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import {
  ABSENT,
  BLOCK,
  decodeDuration,
  DETAILED,
  FLAKY,
  resultId,
  statusOfCode,
} from './run-blocks.ts';
import { projectNotFound } from '../projects/projects.queries.ts';
import {
  blocksOfRun,
  detailsOfRun,
  problemItems,
  problemItemsOfRun,
  type ProblemItemRow,
  runNotFound,
  testsByOrd,
  type ResultPosition,
} from './runs.queries.ts';

type Detail = Selectable<ResultDetailsTable>;

/** One result of a run as read: its position, and its detail row when it has one. */
interface Entry {
  ord: number;
  seq: number;
  status: string;
  durationMs: number | null;
  flaky: boolean;
  detail: Detail | null;
}

function positionOf(cursor: string | undefined): ResultPosition | undefined {
  const key = decodeCursor(cursor, 'text');
  if (key === undefined) return undefined;
  const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(key);
  if (m === null)
    throw new BadInput('querystring/cursor is not a cursor this API issued', [
      { path: 'querystring/cursor', message: 'is not a valid cursor' },
    ]);
  return { ord: Number(m[1]), seq: m[2] === undefined ? -1 : Number(m[2]) };
}

const after = (e: { ord: number; seq: number }, p: ResultPosition | undefined) =>
  p === undefined || e.ord > p.ord || (e.ord === p.ord && e.seq > p.seq);

const fromDetail = (d: Detail): Entry => ({
  ord: d.ord,
  seq: d.duplicate ? d.seq : -1,
  status: d.status,
  durationMs: d.duration_ms,
  flaky: d.flaky,
  detail: d,
});

/**
 * The run's results after the cursor, in result order: by test ord (the order the project
 * first saw its tests), each test's first occurrence, then its repeats in the order they
 * came. Failures and errors are all detail rows; other statuses are read from the blocks a
 * few at a time, with the repeats among them.
 */
async function entriesAfter(
  db: Executor,
  orgId: string,
  runId: string,
  q: PageQuery,
  from: ResultPosition | undefined,
): Promise<Entry[]> {
  const out: Entry[] = [];
  const window = Math.ceil((q.limit + 1) / BLOCK) + 1;
  let nextBlock = from === undefined ? 0 : Math.floor(from.ord / BLOCK);
  let lower = from;
  for (;;) {
    const blocks = await blocksOfRun(db, orgId, runId, nextBlock, window);
    if (blocks.length === 0) break;
    const last = blocks.length < window ? undefined : blocks[blocks.length - 1]!.block;
    const toOrd = last === undefined ? undefined : last * BLOCK + BLOCK - 1;
    // The window's detail rows, firsts and repeats alike, in one ord range: the firsts fill
    // in the DETAILED results of the blocks, the repeats come after their first occurrence.
    const details = await detailsOfRun(db, orgId, runId, {
      after: lower ?? { ord: blocks[0]!.block * BLOCK, seq: -2 },
      status: q.status,
      toOrd,
    });
    const firsts = new Map<number, Detail>();
    const found: Entry[] = [];
    for (const d of details)
      if (d.duplicate) found.push(fromDetail(d));
      else firsts.set(d.ord, d);
    for (const b of blocks) {
      for (let i = 0; i < BLOCK; i++) {
        const code = b.statuses[i]!;
        if (code === ABSENT) continue;
        const status = statusOfCode(code)!;
        const ord = b.block * BLOCK + i;
        if (q.status !== undefined && status !== q.status) continue;
        if (!after({ ord, seq: -1 }, from)) continue;
        const d = (code & DETAILED) !== 0 ? firsts.get(ord) : undefined;
        if (d !== undefined) {
          found.push(fromDetail(d));
          continue;
        }
        const micros = b.durations.readUInt32BE(i * 4);
        found.push({
          ord,
          seq: -1,
          status,
          durationMs: decodeDuration(micros) ?? null,
          flaky: (code & FLAKY) !== 0,
          detail: null,
        });
      }
    }
    out.push(...found.sort((a, b) => a.ord - b.ord || a.seq - b.seq));
    if (out.length > q.limit || last === undefined) break;
    nextBlock = last + 1;
    lower = undefined;
  }
  return out.slice(0, q.limit + 1);
}

/** What a page of results is asked for. */
interface PageQuery {
  limit: number;
  cursor?: string | undefined;
  status?: string | undefined;
}

export const isProblem = (status: string | undefined): status is 'failed' | 'error' =>
  status === 'failed' || status === 'error';

const idOf = (e: { ord: number; seq: number }) => resultId(e.ord, e.seq, e.seq >= 0);

/**
 * A page of a run's failures or errors as the API's JSON text (Page(ResultOut)), in one
 * statement with the project and run checks (problemItemsOfRun renders the items): the
 * statement (for readAsTenant's pipeline), then problemsPage turns its rows into the page.
 * Other statuses, and all results, are resultsPage's.
 */
export function problemsStatement(
  db: Executor,
  orgId: string,
  projectKey: string,
  runId: string,
  q: PageQuery & { status: 'failed' | 'error' },
): CompiledQuery<ProblemItemRow> {
  return problemItemsOfRun(db, orgId, projectKey, runId, {
    status: q.status,
    after: positionOf(q.cursor),
    limit: q.limit + 1,
  });
}

/** The page problemsStatement's rows make. */
export function problemsPage(rows: ProblemItemRow[], q: PageQuery): string {
  const read = problemItems(rows);
  if (!read.projectFound) throw projectNotFound();
  if (!read.runFound) throw runNotFound();
  return pageJson(toPage(read.rows, q.limit, idOf, (r) => r.item));
}

/**
 * A page of a run's results, each with its test's identity (`testId`) and names, as the
 * API's JSON text (Page(ResultOut)): the items are rendered one by one and joined, the same
 * keys in the same order as problemItemsOfRun's.
 */
export async function resultsPage(
  db: Executor,
  orgId: string,
  projectId: string,
  runId: string,
  q: PageQuery,
): Promise<string> {
  const entries = await entriesAfter(db, orgId, runId, q, positionOf(q.cursor));
  const tests = await testsByOrd(db, orgId, projectId, [
    ...new Set(entries.slice(0, q.limit).map((e) => e.ord)),
  ]);
  return pageJson(
    toPage(entries, q.limit, idOf, (e) => {
      const test = tests.get(e.ord)!;
      const d = e.detail;
      return JSON.stringify({
        id: idOf(e),
        testId: test.test_key.toString('hex'),
        suite: test.suite,
        classname: test.classname,
        name: test.name,
        status: e.status,
        durationMs: e.durationMs,
        failureType: d?.failure_type ?? null,
        failureMessage: d?.failure_message ?? null,
        failureText: d?.failure_text ?? null,
        systemOut: d?.system_out ?? null,
        systemErr: d?.system_err ?? null,
        truncated: d?.truncated ?? false,
        flaky: e.flaky,
        reruns: d?.reruns ?? [],
        properties: d?.properties ?? {},
      });
    }),
  );
}

/** A page whose items are JSON texts already, as the JSON text of the page. */
const pageJson = (page: { items: string[]; nextCursor: string | null }) =>
  `{"items":[${page.items.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
