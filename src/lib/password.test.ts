import { describe, expect, it } from 'vitest';
import { TooManyRequests } from '../errors.ts';
import { createHashQueue } from './password.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('the password hashing queue', () => {
  it('runs at most `concurrency` hashes at once and starts waiters in turn', async () => {
    const q = createHashQueue({ concurrency: 2, queue: 3 });
    let running = 0;
    let most = 0;
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      q.admit().run(async () => {
        running++;
        most = Math.max(most, running);
        started.push(i);
        await g.promise;
        running--;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await done[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    await Promise.all(done);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses at once with 429 and Retry-After when running and waiting places are all taken', async () => {
    const q = createHashQueue({ concurrency: 1, queue: 1 });
    const first = q.admit();
    const second = q.admit();
    let refused: unknown;
    try {
      q.admit();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(TooManyRequests);
    expect(Number((refused as TooManyRequests).headers['retry-after'])).toBeGreaterThan(0);
    // A place given back unused, or a finished hash, lets the next one in.
    second.cancel();
    second.cancel();
    const third = q.admit();
    await first.run(() => Promise.resolve());
    const fourth = q.admit();
    await third.run(() => Promise.resolve());
    await fourth.run(() => Promise.resolve());
  });
});
