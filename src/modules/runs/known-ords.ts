import { sql } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import { OrdTable } from './ord-table.ts';
import { storedTest, type OrdLookup, type Registration } from './runs.queries.ts';

/**
 * The ords of a project's tests as this process knows them: every test with an ord below
 * `next`, by hex test key. A test's ord never changes once it is registered (tests are
 * never renumbered or deleted), so an ord known here is right whatever other processes do;
 * a key missing here is new unless another process registered it since, which the
 * registration itself finds out (the project's next ord is no longer `next`).
 */
/** Consecutive ords, both ends included. */
export interface OrdRange {
  first: number;
  last: number;
}

interface ProjectOrds {
  readonly ords: OrdTable;
  next: number;
}

/**
 * Per process, a bounded cache of projects' test ords, so that an upload of tests the
 * project already has finds their ords without sending every key to PostgreSQL (the
 * lookup was 20-45 ms of every 5,000 tests), and one of new tests registers them without
 * looking them up first. Least recently used projects leave first; a project with more
 * tests than a quarter of the bound is not loaded (its uploads look their keys up), one
 * kept grows with its registrations up to the whole bound. The bound, 500,000 tests, is
 * 20-40 MB of OrdTable slots: at 200,000 a project gaining 10,000 new tests an upload
 * fell out of it after 19 uploads, and first sight of its new tests went from parity with
 * the row-per-result design to 1.5x slower (BENCHMARKS.md, 2026-12-02).
 */
export class KnownOrds {
  readonly #projects = new Map<string, ProjectOrds>();
  #size = 0;

  constructor(readonly maxTests = 500_000) {}

  /**
   * The ords of `keys` the project has, the ones still awaiting their first stored upload
   * among them, and the next ord: as lookupOrds answers, from memory when the project is
   * known here (loaded on first use); undefined for a project too large to keep. `mine`:
   * the caller's own registrations, whose tests it stores itself.
   */
  async lookup(
    trx: Executor,
    orgId: string,
    projectId: string,
    keys: string[],
    mine: readonly OrdRange[] = [],
  ): Promise<OrdLookup | undefined> {
    const known = await this.#project(trx, orgId, projectId);
    if (known === undefined) return undefined;
    const ords = ordsAmong(known, keys);
    return {
      ords,
      unstored: await unstoredAmong(trx, orgId, projectId, [...ords.values()], mine),
      next: known.next,
    };
  }

  /**
   * The project's ords by key as known here right now (every test below its next ord),
   * without loading it: undefined when the project is not kept. Read it at once; it is not
   * a snapshot.
   */
  ordsOf(orgId: string, projectId: string): Pick<OrdTable, 'get' | 'has'> | undefined {
    return this.#projects.get(`${orgId}/${projectId}`)?.ords;
  }

  /**
   * The ords of `keys` known here right now, and the project's next ord as known here (every
   * ord below it is known): undefined when the project is not kept.
   */
  peek(
    orgId: string,
    projectId: string,
    keys: Iterable<string>,
  ): { ords: Map<string, number>; next: number } | undefined {
    const known = this.#projects.get(`${orgId}/${projectId}`);
    if (known === undefined) return undefined;
    return { ords: ordsAmong(known, keys), next: known.next };
  }

  /**
   * Learns the tests a registration from `seenNext` gave; forgets the project when it found
   * the next ord elsewhere (another process or upload registered tests meanwhile), to load
   * it afresh on next use.
   */
  registered(orgId: string, projectId: string, seenNext: number, registration: Registration) {
    const id = `${orgId}/${projectId}`;
    const known = this.#projects.get(id);
    if (known === undefined || registration.firstOrd === null) return;
    if (registration.firstOrd !== seenNext || known.next !== seenNext) {
      this.#forget(id);
      return;
    }
    // Registered without a second look: every test given is new, numbered from seenNext.
    const { tests } = registration;
    for (let i = 0; i < tests.length; i++) known.ords.set(tests[i]!.key, seenNext + i);
    this.#size += tests.length;
    known.next = seenNext + tests.length;
    this.#trim();
  }

  async #project(
    trx: Executor,
    orgId: string,
    projectId: string,
  ): Promise<ProjectOrds | undefined> {
    const id = `${orgId}/${projectId}`;
    const known = this.#projects.get(id);
    if (known !== undefined) {
      // Most recently used last.
      this.#projects.delete(id);
      this.#projects.set(id, known);
      return known;
    }
    const { rows: size } = await sql<{ next: number }>`
      SELECT coalesce(max(ord) + 1, 0)::int AS next FROM tests
      WHERE org_id = ${orgId} AND project_id = ${projectId}`.execute(trx);
    if (size[0]!.next > this.maxTests / 4) return undefined;
    const { rows } = await sql<{ key: string; ord: number }>`
      SELECT encode(test_key, 'hex') AS key, ord FROM tests
      WHERE org_id = ${orgId} AND project_id = ${projectId} AND ord < ${size[0]!.next}`.execute(
      trx,
    );
    const loaded: ProjectOrds = { ords: new OrdTable(rows.length), next: size[0]!.next };
    for (const r of rows) loaded.ords.set(r.key, r.ord);
    this.#projects.set(id, loaded);
    this.#size += loaded.ords.size;
    this.#trim();
    return loaded;
  }

  #forget(id: string) {
    const known = this.#projects.get(id);
    if (known === undefined) return;
    this.#size -= known.ords.size;
    this.#projects.delete(id);
  }

  #trim() {
    for (const id of this.#projects.keys()) {
      if (this.#size <= this.maxTests) return;
      this.#forget(id);
    }
  }
}

/** The ords of those of `keys` the project is known to have. */
function ordsAmong(known: ProjectOrds, keys: Iterable<string>): Map<string, number> {
  const ords = new Map<string, number>();
  for (const key of keys) {
    const ord = known.ords.get(key);
    if (ord !== undefined) ords.set(key, ord);
  }
  return ords;
}

/**
 * The ords among `ords` whose tests await their first stored upload: covered by a pending
 * registration (usually there is none) other than the caller's own (`mine`) and not stored
 * one by one.
 */
export async function unstoredAmong(
  trx: Executor,
  orgId: string,
  projectId: string,
  ords: readonly number[],
  mine: readonly OrdRange[],
): Promise<number[]> {
  const theirs = ords.filter((ord) => !mine.some((r) => ord >= r.first && ord <= r.last));
  // Keys the project did not have, or the caller registered itself: nothing to ask.
  if (theirs.length === 0) return [];
  const { rows: pending } = await sql<{ first_ord: number; last_ord: number }>`
    SELECT first_ord, last_ord FROM test_registrations
    WHERE org_id = ${orgId} AND project_id = ${projectId}`.execute(trx);
  if (pending.length === 0) return [];
  const candidates = theirs.filter((ord) =>
    pending.some((r) => ord >= r.first_ord && ord <= r.last_ord),
  );
  if (candidates.length === 0) return [];
  // Joined from the array (index lookups by ord), as markStored does; the ranges above only
  // narrow the ords down, storedTest decides.
  const { rows } = await sql<{ ord: number }>`
    SELECT t.ord FROM unnest(${candidates}::int[]) AS u(ord)
    JOIN tests t ON t.org_id = ${orgId} AND t.project_id = ${projectId} AND t.ord = u.ord
    WHERE NOT ${storedTest(orgId, projectId, 't')}`.execute(trx);
  return rows.map((r) => r.ord);
}
