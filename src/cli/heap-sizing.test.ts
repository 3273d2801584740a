import { describe, expect, it } from 'vitest';
import { heapGrowingFlag } from './heap-sizing.ts';

const GB = 1024 * 1024 * 1024;

describe('the server sizing its own heap', () => {
  it('lets the old generation grow to twice its live size when V8 would allow 4 times', () => {
    expect(heapGrowingFlag(undefined, [], 4 * GB)).toBe('--heap-growing-percent=100');
    expect(heapGrowingFlag('--enable-source-maps', ['--import', 'tsx'], 2 * GB)).toBe(
      '--heap-growing-percent=100',
    );
  });

  it('leaves a heap the user sized alone, in NODE_OPTIONS or on the command line', () => {
    expect(heapGrowingFlag('--max-old-space-size=3000', [], 4 * GB)).toBeNull();
    expect(
      heapGrowingFlag('--enable-source-maps  --max_old_space_size=512', [], 4 * GB),
    ).toBeNull();
    expect(heapGrowingFlag(undefined, ['--heap-growing-percent=50'], 4 * GB)).toBeNull();
    expect(heapGrowingFlag(undefined, ['--max-heap-size=1024'], 4 * GB)).toBeNull();
  });

  it('leaves a heap limit under 2 GB alone: V8 grows it 2 times or less already', () => {
    expect(heapGrowingFlag(undefined, [], 1.5 * GB)).toBeNull();
  });

  it('does not mistake a flag that only starts like a sizing one', () => {
    expect(heapGrowingFlag('--max-old-space-sizes', [], 4 * GB)).toBe('--heap-growing-percent=100');
  });
});
