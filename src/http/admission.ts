import { AppError, TooManyRequests } from '../errors.ts';

/** A slot taken by `enter`; call once when the work is done. */
export type Release = () => void;

export interface Admission {
  /**
   * Takes a slot, waiting in line (first come, first served) while all are taken: nothing is
   * held while waiting (no database connection, no body read). Refuses with a 429 and a
   * Retry-After when the line is full too; `signal` takes a waiter out of the line (its
   * client went away).
   */
  enter(signal?: AbortSignal): Promise<Release>;
  readonly active: number;
  readonly waiting: number;
}

/**
 * Admission control for heavy work (uploads): at most `concurrency` at once, at most `queue`
 * more waiting, the rest refused with 429. Retry-After is the time the line ahead is
 * expected to take, from the average time a slot was held (first guess: `firstGuessMs`).
 */
export function createAdmission(opts: {
  concurrency: number;
  queue: number;
  what: string;
  now?: () => number;
  firstGuessMs?: number;
}): Admission {
  const now = opts.now ?? (() => performance.now());
  const line: { grant: (release: Release) => void }[] = [];
  let active = 0;
  let averageMs = opts.firstGuessMs ?? 1000;

  function slot(): Release {
    active++;
    const started = now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active--;
      // A moving average, so Retry-After follows the work the server sees now.
      averageMs = averageMs * 0.8 + (now() - started) * 0.2;
      const next = line.shift();
      if (next !== undefined) next.grant(slot());
    };
  }

  function retryAfterSeconds(): number {
    const ahead = active + line.length;
    const seconds = Math.ceil((averageMs * ahead) / opts.concurrency / 1000);
    return Math.min(60, Math.max(1, seconds));
  }

  return {
    get active() {
      return active;
    },
    get waiting() {
      return line.length;
    },
    enter(signal) {
      if (signal?.aborted === true) return Promise.reject(gone(opts.what));
      if (active < opts.concurrency && line.length === 0) return Promise.resolve(slot());
      if (line.length >= opts.queue) {
        const after = retryAfterSeconds();
        return Promise.reject(
          new TooManyRequests(
            `Too many ${opts.what}s at once: ${active} in progress and ${line.length} waiting; retry in ${after} s with the same Idempotency-Key`,
            after,
          ),
        );
      }
      return new Promise<Release>((resolve, reject) => {
        const waiter = {
          grant: (release: Release) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        const onAbort = () => {
          const at = line.indexOf(waiter);
          if (at >= 0) line.splice(at, 1);
          reject(gone(opts.what));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        line.push(waiter);
      });
    },
  };
}

function gone(what: string): AppError {
  return new AppError(400, 'client_gone', `The client went away while its ${what} waited`);
}
