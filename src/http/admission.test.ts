import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { createAdmission } from './admission.ts';

describe('createAdmission', () => {
  it('admits up to the concurrency, lines up the queue first come first served, refuses the rest', async () => {
    const a = createAdmission({ concurrency: 2, queue: 2, what: 'upload' });
    const first = await a.enter();
    await a.enter();
    const order: string[] = [];
    const third = a.enter().then((release) => (order.push('third'), release));
    const fourth = a.enter().then((release) => (order.push('fourth'), release));
    expect({ active: a.active, waiting: a.waiting }).toEqual({ active: 2, waiting: 2 });
    const refused = await a.enter().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBe(429);
    expect(Number((refused as AppError).headers['retry-after'])).toBeGreaterThanOrEqual(1);
    first();
    first(); // a second release of the same slot frees nothing more
    (await third)();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    expect({ active: a.active, waiting: a.waiting }).toEqual({ active: 2, waiting: 0 });
  });

  it('bases Retry-After on how long slots were held and how many are ahead', async () => {
    let t = 0;
    const a = createAdmission({ concurrency: 1, queue: 3, what: 'upload', now: () => t });
    for (let i = 0; i < 10; i++) {
      const release = await a.enter();
      t += 4000;
      release();
    }
    await a.enter();
    for (let i = 0; i < 3; i++) void a.enter();
    const refused = (await a.enter().catch((err: unknown) => err)) as AppError;
    // About 4 s a slot and 4 ahead: about 16 s.
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(13);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(16);
  });

  it('takes a waiter whose client went away out of the line', async () => {
    const a = createAdmission({ concurrency: 1, queue: 1, what: 'upload' });
    const held = await a.enter();
    const gone = new AbortController();
    const waiting = a.enter(gone.signal).catch((err: unknown) => err);
    expect(a.waiting).toBe(1);
    gone.abort();
    expect(await waiting).toBeInstanceOf(AppError);
    expect(a.waiting).toBe(0);
    held();
    expect(a.active).toBe(0);
  });
});
