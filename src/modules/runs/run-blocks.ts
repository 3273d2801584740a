import type { TestStatus } from '../../domain/junit.ts';

/** Test ords per run_blocks row. */
export const BLOCK = 256;

// Byte i of a block's statuses: the status code of ord block*256+i, with flags on top.
export const ABSENT = 0;
const CODES: Record<TestStatus, number> = { passed: 1, failed: 2, error: 3, skipped: 4 };
const STATUSES: (TestStatus | undefined)[] = [undefined, 'passed', 'failed', 'error', 'skipped'];
export const FLAKY = 0x10;
/** The result has a row in result_details (failure, output, reruns, properties...). */
export const DETAILED = 0x20;

// Durations: big-endian uint32 microseconds.
export const NO_DURATION = 0xffffffff;
/** Longer than fits (over 71 minutes) or negative: result_details.duration_ms has it. */
export const DURATION_IN_DETAILS = 0xfffffffe;

export const codeOf = (status: TestStatus) => CODES[status];

/** The status a code stands for; undefined for an absent test. */
export const statusOfCode = (code: number): TestStatus | undefined => STATUSES[code & 0x0f];

/** A duration in milliseconds as stored in a block; `fits` false when details must hold it. */
export function encodeDuration(ms: number | null): { micros: number; fits: boolean } {
  if (ms === null) return { micros: NO_DURATION, fits: true };
  const micros = Math.round(ms * 1000);
  if (!(micros >= 0 && micros < DURATION_IN_DETAILS))
    return { micros: DURATION_IN_DETAILS, fits: false };
  return { micros, fits: true };
}

/** A stored duration in milliseconds (microsecond precision); undefined: read the details. */
export function decodeDuration(micros: number): number | null | undefined {
  if (micros === NO_DURATION) return null;
  if (micros === DURATION_IN_DETAILS) return undefined;
  return micros / 1000;
}

export interface Block {
  statuses: Buffer;
  /** Dropped (null) once the block is written and full: only statuses are needed after. */
  durations: Buffer | null;
  /** Positions set. */
  filled: number;
  dirty: boolean;
}

export const emptyBlock = (): Block => ({
  statuses: Buffer.alloc(BLOCK),
  durations: Buffer.alloc(BLOCK * 4),
  filled: 0,
  dirty: false,
});

/** A block as stored (a joining upload starts from what the run already has). */
export function storedBlock(statuses: Buffer, durations: Buffer): Block {
  let filled = 0;
  for (let i = 0; i < BLOCK; i++) if (statuses[i] !== ABSENT) filled++;
  return { statuses, durations, filled, dirty: false };
}

/** A result's id within its run: the test's ord for its first occurrence, ord-seq for a repeat. */
export const resultId = (ord: number, seq: number, duplicate: boolean) =>
  duplicate ? `${ord}-${seq}` : String(ord);
