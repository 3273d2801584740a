import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../../db/system.ts';
import type { DB } from '../../db/types.ts';
import {
  lockForRegistration,
  registerTests,
  type NewTest,
  type Registration,
} from './runs.queries.ts';

/** An upload's registrations of new tests, on a connection of their own, in turn. */
export interface Registrar {
  /**
   * Registers tests the project has not seen (as registerTests) after those asked before.
   * `seenNext` is the next ord the caller's lookup found; undefined: the tests go through
   * `prepare` when the registration is made, and may be registered in one statement with
   * others asked meanwhile. Resolves once made: committed already when nothing else was
   * asked by then, else before its transaction commits (close commits it).
   */
  register(tests: NewTest[], seenNext?: number | null): Promise<Registration>;
  /** Whether a registration is asked or being made. */
  readonly busy: boolean;
  /**
   * No registration is expected soon (the file has been parsed): no transaction is opened
   * ahead for the next one until one is asked.
   */
  idle(): void;
  /**
   * Commits what was registered and ends the transaction kept open for a next registration:
   * always call it (again is safe). Rejects when registrations had resolved in a transaction
   * that then failed (their ords were never committed); other failures reject the
   * registrations themselves.
   */
  close(): Promise<void>;
}

interface Request {
  tests: NewTest[];
  seenNext: number | null | undefined;
  resolve(registration: Registration): void;
  reject(err: Error): void;
}

export interface RegistrarOptions {
  /** Whether the pool can spare a connection for a transaction opened ahead. */
  preOpen: () => boolean;
  /**
   * For registrations asked without a next ord: the tests still new as known right now and
   * the project's next ord as known at the same moment (null: not known), read together so
   * that "none of these is among the tests below the next ord" holds.
   */
  prepare?: (tests: NewTest[]) => { tests: NewTest[]; seenNext: number | null };
  /** Told of every registration made, before the next one is made (as it resolves). */
  onRegistered?: (seenNext: number | null, registration: Registration) => void;
}

/** Tests per statement when registrations asked meanwhile are made together. */
const MAX_TESTS_PER_STATEMENT = 5000;

/**
 * Registers an upload's new tests on a pooled connection of its own, apart from the upload,
 * so that a concurrent upload of the same new tests waits only for these registrations,
 * never for this upload to finish. Registrations asked while one is being made are made
 * next in the same transaction (one statement for all of them, up to 5,000 tests), and the
 * transaction commits as soon as no registration is waiting: an upload streaming new tests
 * (ingest asks for them as it parses) keeps one transaction and the project's lock while it
 * registers them back to back, and gives both up whenever it has caught up with the parser.
 * Each registration resolves as soon as it is made; one made while nothing waits resolves
 * after its commit.
 *
 * Once one has committed, the transaction for the next is opened right away (BEGIN, the
 * system door, the org check), while the upload goes on, when `preOpen` says the pool can
 * spare the connection (it is held while the upload goes on); otherwise, and after an opened
 * transaction failed while it waited (a server's idle-in-transaction timeout), it is opened
 * when a registration comes. Only an upload that finds new tests starts a registrar.
 */
export function createRegistrar(
  db: Kysely<DB>,
  orgId: string,
  projectId: string,
  {
    preOpen,
    prepare = (tests) => ({ tests, seenNext: null }),
    onRegistered = () => {},
  }: RegistrarOptions,
): Registrar {
  // Registrations waiting to be made, and those being made (failed with their
  // transaction's failure, if it fails).
  let queue: Request[] = [];
  let current: Request[] = [];
  let closed = false;
  let failure: Error | undefined;
  // Set when registrations were resolved in a transaction that then failed to commit.
  let lost: Error | undefined;
  let idleFailed = false;
  // Whether a transaction may be opened ahead of the next registration.
  let openAhead = true;
  // Wakes the loop when a registration comes or the registrar closes.
  let wake = () => {};
  const changed = () => new Promise<void>((resolve) => (wake = resolve));

  /** The next registrations to make in one statement: the first waiting, and with it any
   *  others asked without a lookup of their own, up to the statement's bound. */
  const takeNext = (): Request[] => {
    const first = queue.shift()!;
    const taken = [first];
    if (first.seenNext !== undefined) return taken;
    let size = first.tests.length;
    while (queue.length > 0) {
      const r = queue[0]!;
      if (r.seenNext !== undefined || size + r.tests.length > MAX_TESTS_PER_STATEMENT) break;
      taken.push(queue.shift()!);
      size += r.tests.length;
    }
    return taken;
  };

  const loop = (async () => {
    for (;;) {
      while (queue.length === 0 && !closed && (idleFailed || !openAhead || !preOpen()))
        await changed();
      if (closed && queue.length === 0) return;
      // Opened ahead: no registration is waiting for this transaction yet.
      const ahead = queue.length === 0;
      // Whether registrations made in this transaction were resolved before its commit,
      // and the last one made, to resolve once it commits.
      const made: {
        early: boolean;
        last: { requests: Request[]; registration: Registration } | null;
      } = { early: false, last: null };
      try {
        await withOrgAsSystem(
          db,
          orgId,
          { reason: 'tests first seen in an upload' },
          async (trx) => {
            while (queue.length === 0 && !closed) await changed();
            let locked = false;
            while (queue.length > 0) {
              if (made.last !== null) {
                for (const r of made.last.requests) r.resolve(made.last.registration);
                made.early = true;
                made.last = null;
              }
              current = takeNext();
              if (!locked) await lockForRegistration(trx, projectId);
              locked = true;
              const asked =
                current.length === 1 ? current[0]!.tests : current.flatMap((r) => r.tests);
              const seen = current[0]!.seenNext;
              // After the lock: what is still new, and the next ord, as known now.
              const { tests, seenNext } =
                seen === undefined ? prepare(asked) : { tests: asked, seenNext: seen };
              const registration = await registerTests(trx, orgId, projectId, tests, seenNext);
              onRegistered(seenNext, registration);
              made.last = { requests: current, registration };
              current = [];
              // Asked while this one was made: made next, in this transaction.
            }
          },
        );
        const { last } = made;
        if (last !== null) for (const r of last.requests) r.resolve(last.registration);
        made.last = null;
      } catch (err) {
        const failed = [...current, ...(made.last?.requests ?? [])];
        current = [];
        made.last = null;
        // A transaction opened ahead can fail while it waits (its connection ended by the
        // server's idle-in-transaction timeout), found when it is first used: its
        // registrations, none of them made, are made again in a transaction opened for them,
        // and none is opened ahead any more (once per upload; registerTests looks again for
        // what may have been registered meanwhile).
        if (ahead && !idleFailed && !made.early) {
          idleFailed = true;
          queue = [...failed, ...queue];
          continue;
        }
        // A failed registration, commit or door fails the registrations waiting for it, and
        // every later one; registrations resolved before a failed commit fail the close.
        failure = err instanceof Error ? err : new Error(String(err));
        if (made.early) lost = failure;
        for (const r of [...failed, ...queue]) r.reject(failure);
        queue = [];
        return;
      }
    }
  })();

  return {
    register(tests, seenNext) {
      return new Promise<Registration>((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        if (closed) return reject(new Error('the registrar is closed'));
        queue.push({ tests, seenNext, resolve, reject });
        openAhead = true;
        wake();
      });
    },
    get busy() {
      return queue.length > 0 || current.length > 0;
    },
    idle() {
      openAhead = false;
    },
    async close() {
      closed = true;
      wake();
      await loop;
      if (lost !== undefined) throw lost;
    },
  };
}
