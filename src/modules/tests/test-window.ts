import type { Executor } from '../../db/executor.ts';
import {
  decodeStatus,
  flakyOverHistory,
  type FlakinessSettings,
  type HistoryFlaky,
  type ResultStatus,
} from '../../domain/history.ts';
import { blocksOfRuns, latestRunsOfBranch, testsWithOrds } from './tests.queries.ts';

const BLOCK = 256;
const NO_DURATION = 0xffffffff;
const DURATION_IN_DETAILS = 0xfffffffe;

/** The latest complete runs of a branch, read from their blocks: each test's outcomes by ord. */
export interface TestWindowReader {
  /** Oldest first. */
  runIds: string[];
  statusesOf(ord: number): (ResultStatus | null)[];
  /** Milliseconds; null where unknown (or too long for a block: over 71 minutes). */
  durationsOf(ord: number): (number | null)[];
  /** Every ord present in at least one run of the window. */
  ords(): Iterable<number>;
}

/**
 * Reads the window: a handful of statements whatever the number of tests (one for the runs,
 * one for their blocks: window × tests/256 rows of 256 bytes, plus 1 KB each with durations).
 */
export async function readWindow(
  db: Executor,
  orgId: string,
  projectId: string,
  branch: string,
  size: number,
  withDurations: boolean,
  newestFirst?: { id: string }[],
): Promise<TestWindowReader> {
  const runs = [
    ...(newestFirst ?? (await latestRunsOfBranch(db, orgId, projectId, branch, size))),
  ].reverse();
  const runIds = runs.map((r) => r.id);
  const index = new Map(runIds.map((id, i) => [id, i]));
  const blocks = await blocksOfRuns(db, orgId, runIds, withDurations);
  // byBlock[block][run] = that run's block
  const byBlock = new Map<number, ({ statuses: Buffer; durations: Buffer | null } | undefined)[]>();
  for (const b of blocks) {
    let list = byBlock.get(b.block);
    if (list === undefined) {
      list = new Array<undefined>(runIds.length).fill(undefined);
      byBlock.set(b.block, list);
    }
    list[index.get(b.run_id)!] = { statuses: b.statuses, durations: b.durations };
  }
  return {
    runIds,
    statusesOf(ord) {
      const list = byBlock.get(Math.floor(ord / BLOCK));
      const pos = ord % BLOCK;
      return runIds.map((_, i) => {
        const b = list?.[i];
        return b === undefined ? null : decodeStatus(b.statuses[pos] ?? 0).status;
      });
    },
    durationsOf(ord) {
      const list = byBlock.get(Math.floor(ord / BLOCK));
      const pos = ord % BLOCK;
      return runIds.map((_, i) => {
        const b = list?.[i];
        if (b?.durations === undefined || b.durations === null || (b.statuses[pos] ?? 0) === 0)
          return null;
        const micros = b.durations.readUInt32BE(pos * 4);
        return micros === NO_DURATION || micros === DURATION_IN_DETAILS ? null : micros / 1000;
      });
    },
    *ords() {
      for (const [block, list] of byBlock) {
        for (let pos = 0; pos < BLOCK; pos++)
          if (list.some((b) => b !== undefined && (b.statuses[pos] ?? 0) !== 0))
            yield block * BLOCK + pos;
      }
    },
  };
}

/** A test flaky over history: its testId (hex test key), name and the evidence. */
export type FlakyTestOverHistory = HistoryFlaky & { ord: number; label: string };

/** The tests flaky over the branch's history, with the runs where they flipped. */
export async function flakyOnBranch(
  db: Executor,
  orgId: string,
  projectId: string,
  branch: string,
  settings: FlakinessSettings,
): Promise<FlakyTestOverHistory[]> {
  const window = await readWindow(db, orgId, projectId, branch, settings.window, false);
  if (window.runIds.length < settings.minRuns) return [];
  const outcomes = new Map<string, (ResultStatus | null)[]>();
  for (const ord of window.ords()) outcomes.set(String(ord), window.statusesOf(ord));
  const flaky = flakyOverHistory(window.runIds, outcomes, settings);
  const tests = new Map(
    (
      await testsWithOrds(
        db,
        orgId,
        projectId,
        flaky.map((f) => Number(f.testKey)),
      )
    ).map((t) => [t.ord, t]),
  );
  return flaky.flatMap((f) => {
    const t = tests.get(Number(f.testKey));
    if (t === undefined) return [];
    return [
      {
        ...f,
        testKey: t.test_key.toString('hex'),
        ord: t.ord,
        label: `${t.classname}.${t.name}`,
      },
    ];
  });
}
