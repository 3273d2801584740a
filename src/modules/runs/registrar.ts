import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../../db/system.ts';
import type { DB } from '../../db/types.ts';
import { registerTests, type NewTest, type Registration } from './runs.queries.ts';

/** An upload's registrations of new tests, one short transaction each, in turn. */
export interface Registrar {
  /**
   * Registers tests the project has not seen (as registerTests), committed when this
   * resolves. One call at a time: the next one waits until this one has resolved.
   */
  register(tests: NewTest[], seenNext: number | null): Promise<Registration>;
  /** Ends the transaction kept open for a next registration; always call it (again is safe). */
  close(): Promise<void>;
}

interface Request {
  tests: NewTest[];
  seenNext: number | null;
  resolve(registration: Registration): void;
  reject(err: Error): void;
}

/**
 * Registers an upload's new tests on a pooled connection of its own, apart from the upload:
 * each registration commits at once (a concurrent upload of the same new tests waits only
 * for it, never for this upload to finish). Once one has committed, the transaction for the
 * next is opened right away (BEGIN, the system door, the org check) while the upload stores
 * the batch and parses the next: an upload of new tests registers batch after batch, and
 * each then waits only for the project lock and its insert, not for those round trips too,
 * each of which waits for the event loop while the parser holds it. Only an upload that
 * finds new tests starts one.
 *
 * A transaction is opened ahead of its registration only when `preOpen` says the pool can
 * spare the connection (it is held while the upload goes on); otherwise, and after an
 * opened transaction failed while it waited (a server's idle-in-transaction timeout), it
 * is opened when a registration comes.
 */
export function createRegistrar(
  db: Kysely<DB>,
  orgId: string,
  projectId: string,
  preOpen: () => boolean,
): Registrar {
  // The registration waiting to be taken, and the one being made (failed with its
  // transaction's failure, if it fails).
  let next: Request | null = null;
  let current: Request | null = null;
  let closed = false;
  let failure: Error | undefined;
  let idleFailed = false;
  // Wakes the loop when a registration comes or the registrar closes.
  let wake = () => {};
  const changed = () => new Promise<void>((resolve) => (wake = resolve));
  /** The next registration, once there is one; null once closed without one. */
  const take = async (): Promise<Request | null> => {
    while (next === null && !closed) await changed();
    const request = next;
    next = null;
    return request;
  };

  const loop = (async () => {
    for (;;) {
      while (next === null && !closed && (idleFailed || !preOpen())) await changed();
      if (closed && next === null) return;
      // Opened ahead: no registration is waiting for this transaction yet.
      const ahead = next === null;
      try {
        const done = await withOrgAsSystem(
          db,
          orgId,
          { reason: 'tests first seen in an upload' },
          async (trx) => {
            current = await take();
            if (current === null) return null;
            return registerTests(trx, orgId, projectId, current.tests, current.seenNext);
          },
        );
        const request = current as Request | null;
        current = null;
        if (done === null || request === null) return;
        request.resolve(done);
      } catch (err) {
        const request = current as Request | null;
        current = null;
        // A transaction opened ahead can fail while it waits (its connection ended by the
        // server's idle-in-transaction timeout), found when it is first used: its
        // registration, never committed, is made again in a transaction opened for it, and
        // none is opened ahead any more (once per upload; registerTests looks again for what
        // may have been registered meanwhile).
        if (ahead && !idleFailed) {
          idleFailed = true;
          next ??= request;
          continue;
        }
        // A failed registration, commit or door fails the request waiting for it, and every
        // later one.
        failure = err instanceof Error ? err : new Error(String(err));
        request?.reject(failure);
        next?.reject(failure);
        next = null;
        return;
      }
    }
  })();

  return {
    register(tests, seenNext) {
      return new Promise<Registration>((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        if (closed) return reject(new Error('the registrar is closed'));
        next = { tests, seenNext, resolve, reject };
        wake();
      });
    },
    async close() {
      closed = true;
      wake();
      await loop;
    },
  };
}
