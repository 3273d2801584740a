import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection
 * before the next one, for the long-running commands (serve, worker): 100 = to 2 times.
 *
 * With a heap limit of 2 GB or more (Node's default on a machine of 8 GB or more) V8
 * allows 4 times. An upload promotes a few MB of short-lived batches to the old
 * generation, so over a build-up of uploads the server's heap grew to ~4 × its ~50 MB of
 * live objects between full collections: 364 MB peak RSS over 1,000 uploads of 10,000
 * tests (`npm run bench history`, BENCHMARKS.md), against 252 MB with 2 times, at the same
 * median upload time. 2 times is what V8 itself allows under a heap limit just below 2 GB.
 */
export const HEAP_GROWING_PERCENT = 100;

/** V8's limit from which it allows the old generation to grow 4 times (2 GB on 64-bit). */
const LARGE_HEAP_LIMIT = 2048 * 1024 * 1024;

const SIZING_FLAG =
  /^--(max[-_]old[-_]space[-_]size|max[-_]heap[-_]size|heap[-_]growing[-_]percent)(=|$)/;

/**
 * The V8 flag the server sets on itself, or null: none when the heap is sized by the user
 * (`--max-old-space-size`, `--max-heap-size` or `--heap-growing-percent` on the command
 * line or in NODE_OPTIONS) or its limit is under 2 GB (V8 then grows it 2 times or less).
 */
export function heapGrowingFlag(
  nodeOptions: string | undefined,
  execArgv: readonly string[],
  heapSizeLimit: number,
): string | null {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((arg) => SIZING_FLAG.test(arg))) return null;
  if (heapSizeLimit < LARGE_HEAP_LIMIT) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Applies heapGrowingFlag to this process (V8 reads it at every full collection). */
export function sizeHeap(): void {
  const flag = heapGrowingFlag(
    process.env['NODE_OPTIONS'],
    process.execArgv,
    getHeapStatistics().heap_size_limit,
  );
  if (flag !== null) setFlagsFromString(flag);
}
