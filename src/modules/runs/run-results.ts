import type { Selectable } from 'kysely';
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
import { blocksOfRun, detailsOfRun, testsByOrd, type ResultPosition } from './runs.queries.ts';

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
  q: { limit: number; status?: string | undefined },
  from: ResultPosition | undefined,
): Promise<Entry[]> {
  if (q.status === 'failed' || q.status === 'error') {
    const rows = await detailsOfRun(db, orgId, runId, {
      after: from,
      status: q.status,
      limit: q.limit + 1,
    });
    return rows.map(fromDetail);
  }
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

/** A page of a run's results, each with its test's identity (`testId`) and names. */
export async function resultsPage(
  db: Executor,
  orgId: string,
  projectId: string,
  runId: string,
  q: { limit: number; cursor?: string | undefined; status?: string | undefined },
) {
  const from = positionOf(q.cursor);
  const entries = await entriesAfter(db, orgId, runId, q, from);
  const tests = await testsByOrd(db, orgId, projectId, [
    ...new Set(entries.slice(0, q.limit).map((e) => e.ord)),
  ]);
  const id = (e: Entry) => resultId(e.ord, e.seq, e.seq >= 0);
  return toPage(entries, q.limit, id, (e) => {
    const test = tests.get(e.ord)!;
    const d = e.detail;
    return {
      id: id(e),
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
      reruns: (d?.reruns ?? []) as { kind: string; type: string | null; message: string | null }[],
      properties: (d?.properties ?? {}) as Record<string, string>,
    };
  });
}
