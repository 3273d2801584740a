import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TooManyRequests } from '../errors.ts';

// OWASP's scrypt parameters: N=2^17, r=8, p=1 (128 MiB of memory per hash).
const LOG_N = 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(
  password: string,
  salt: Buffer,
  logN: number,
  r: number,
  p: number,
): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$<logN>$<r>$<p>$<salt>$<hash>`: the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG_N, R, P);
  return ['scrypt', LOG_N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    Number(logN),
    Number(r),
    Number(p),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummy: Promise<string> | undefined;
/** A real hash to verify against when the account does not exist, so timing reveals nothing. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** A place in the hashing queue: run one hash with it, or give it back unused. */
export interface HashTicket {
  run<T>(work: () => Promise<T>): Promise<T>;
  cancel(): void;
}

export interface HashQueue {
  /** Takes a place (running or waiting) or throws 429 with Retry-After when all are taken. */
  admit(): HashTicket;
  /** Hashes a new password in its turn (admission included). */
  hash(password: string): Promise<string>;
}

/**
 * Bounded concurrency for password hashing: each scrypt takes 128 MiB and a libuv thread
 * for a good part of a second, so a burst of sign-ins must neither exhaust memory nor
 * starve the thread pool (files, DNS) the rest of the process shares. Beyond `concurrency`
 * running and `queue` waiting, callers are refused at once instead of waiting ever longer.
 */
export function createHashQueue(opts: { concurrency: number; queue: number }): HashQueue {
  const { concurrency, queue } = opts;
  let admitted = 0; // running + waiting + admitted but not yet started
  let running = 0;
  const waiting: (() => void)[] = [];
  let averageMs = 500;

  const retryAfter = () => Math.max(1, Math.ceil(((admitted / concurrency) * averageMs) / 1000));

  function admit(): HashTicket {
    if (admitted >= concurrency + queue) {
      throw new TooManyRequests('Too many sign-ins at once; try again shortly', retryAfter());
    }
    admitted++;
    let settled = false;
    const leave = () => {
      if (settled) return;
      settled = true;
      admitted--;
    };
    return {
      async run<T>(work: () => Promise<T>): Promise<T> {
        if (settled) throw new Error('hash ticket already used');
        if (running < concurrency) running++;
        // A finishing hash hands its slot straight to the next waiter (running unchanged).
        else await new Promise<void>((resolve) => waiting.push(resolve));
        const started = performance.now();
        try {
          return await work();
        } finally {
          averageMs = averageMs * 0.8 + (performance.now() - started) * 0.2;
          leave();
          const next = waiting.shift();
          if (next !== undefined) next();
          else running--;
        }
      },
      cancel: leave,
    };
  }

  return {
    admit,
    hash: (password) => admit().run(() => hashPassword(password)),
  };
}
