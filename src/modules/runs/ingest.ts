import type { Readable } from 'node:stream';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { TestCase, Totals } from '../../domain/junit.ts';
import type { DB } from '../../db/types.ts';
import { AppError } from '../../errors.ts';
import { createJUnitParser, JUnitError, type ParserLimits } from './junit-parser.ts';
import {
  ABSENT,
  BLOCK,
  codeOf,
  DETAILED,
  emptyBlock,
  encodeDuration,
  FLAKY,
  storedBlock,
  type Block,
} from './run-blocks.ts';
import {
  blocksOfRun,
  blocksUpsert,
  detailsInsert,
  isPlain,
  markStored,
  lookupOrds,
  ordsOfRegistration,
  storeRegistrations,
  testKey,
  type DetailRow,
  type NewTest,
  type OrdLookup,
} from './runs.queries.ts';
import { unstoredAmong, type KnownOrds, type OrdRange } from './known-ords.ts';
import { createRegistrar, type Registrar } from './registrar.ts';
import { createXmlDecoder, UnsupportedEncodingError } from './xml-decoder.ts';

export interface UploadFile {
  filename: string;
  stream: Readable;
  /** Bytes read from the wire for this file, known once the stream has ended. */
  bytes(): number;
}

const BATCH = 5000;
/** Characters parsed at a time while new tests are registered (~150 testcases of ~100 bytes). */
const PIECE = 16 * 1024;
/** Blocks per statement when the rest of an upload's blocks are written at its end. */
const BLOCKS_PER_WRITE = 400;

/** A located JUnit problem as a 400 problem naming the file, line and column. */
export function junitProblem(err: JUnitError): AppError {
  return new AppError(400, 'invalid_junit', err.message, {
    file: err.file,
    line: err.line,
    column: err.column,
    errors: [
      {
        path: `file/${err.file}`,
        message: `line ${err.line}, column ${err.column}: ${err.reason}`,
      },
    ],
  });
}

type Ids = { orgId: string; runId: string; projectId: string };

/**
 * What one upload writes into its run, across its files: the run's blocks (statuses and
 * durations by test ord) as they fill, and the next occurrence number.
 */
export interface RunWriter {
  readonly ids: Ids;
  /** For registering new tests in a short transaction of their own. */
  readonly db: Kysely<DB>;
  /** The process's known test ords (found without asking PostgreSQL). */
  readonly known: KnownOrds;
  /** Whether the registrar may keep a transaction open before it has a registration. */
  readonly preOpen: () => boolean;
  readonly blocks: Map<number, Block>;
  /** Registers the upload's new tests (started by the first new test parsed). */
  registrar: Registrar | null;
  /** The ords of the registrations this upload made, stored when it closes. */
  readonly registrations: OrdRange[];
  /** New tests asked to be registered and not registered yet, by key (asked once). */
  readonly asked: Set<string>;
  seq: number;
}

/**
 * Starts writing an upload into its run. A run that already has results (a shard, or a
 * matrix job joining it) starts from its stored blocks, so a test it already holds is a
 * repeat; its occurrences continue after the `tests` it already counts.
 */
export async function openRunWriter(
  trx: Transaction<DB>,
  db: Kysely<DB>,
  ids: Ids,
  run: { uploads: number; tests: number },
  { known, preOpen }: { known: KnownOrds; preOpen: () => boolean },
): Promise<RunWriter> {
  // Planned for each batch as it is: a prepared statement's generic plan, made while the
  // project's tests were few, kept scanning them whole for every key once they were many.
  await sql`SET LOCAL plan_cache_mode = force_custom_plan`.execute(trx);
  const blocks = new Map<number, Block>();
  if (run.uploads > 0)
    for (const b of await blocksOfRun(trx, ids.orgId, ids.runId))
      blocks.set(b.block, storedBlock(b.statuses, b.durations));
  return {
    ids,
    db,
    known,
    preOpen,
    blocks,
    registrar: null,
    registrations: [],
    asked: new Set(),
    seq: run.tests,
  };
}

/**
 * Writes the blocks still unwritten (those with gaps: tests of the project the run lacks),
 * and stores the tests the upload registered.
 */
export async function closeRunWriter(trx: Transaction<DB>, writer: RunWriter): Promise<void> {
  const { orgId, projectId } = writer.ids;
  // Registrations are committed before the upload deletes them (it would not see them).
  await writer.registrar?.close();
  await storeRegistrations(
    trx,
    orgId,
    projectId,
    writer.registrations.map((r) => r.first),
  );
  const dirty = [...writer.blocks.entries()].filter(([, b]) => b.dirty);
  for (let i = 0; i < dirty.length; i += BLOCKS_PER_WRITE) {
    const part = dirty.slice(i, i + BLOCKS_PER_WRITE);
    await trx.executeQuery(
      blocksUpsert(
        trx,
        writer.ids,
        part.map(([block, b]) => ({ block, statuses: b.statuses, durations: b.durations! })),
      ),
    );
    for (const [, b] of part) b.dirty = false;
  }
}

/**
 * Ends what an upload keeps open beside its transaction (the registrar's transaction): on
 * every path, failures included, before the upload's transaction ends. On success
 * closeRunWriter has committed its registrations already; here a failed upload commits what
 * was registered (its registrations stay pending, its tests unlisted).
 */
export async function releaseRunWriter(writer: RunWriter): Promise<void> {
  // A failure of its own was the upload's failure already (closeRunWriter or a batch).
  await writer.registrar?.close().catch(() => undefined);
}

/** The upload's registrar, started on first use. */
function registrarOf(writer: RunWriter): Registrar {
  const { orgId, projectId } = writer.ids;
  return (writer.registrar ??= createRegistrar(writer.db, orgId, projectId, {
    preOpen: writer.preOpen,
    // Tests another upload of this process registered since they were asked are dropped;
    // the next ord is read at the same moment, so every test left is below no known ord.
    prepare: (tests) => {
      const known = writer.known.peek(orgId, projectId, []);
      const ords = writer.known.ordsOf(orgId, projectId);
      if (known === undefined || ords === undefined) return { tests, seenNext: null };
      return { tests: tests.filter((t) => !ords.has(t.key)), seenNext: known.next };
    },
    // Learned before the next registration is made, which starts from the next ord known.
    onRegistered: (seenNext, registration) => {
      if (seenNext !== null) writer.known.registered(orgId, projectId, seenNext, registration);
      // Stored once, at the end of the upload: its tests are the project's from its commit.
      if (registration.firstOrd !== null)
        writer.registrations.push({ first: registration.firstOrd, last: registration.lastOrd! });
    },
  }));
}

/** Parsed testcases on their way to storage, in parse order. */
interface Batch {
  cases: TestCase[];
  keys: string[];
  /** Each testcase's ord once found (-1 until then): from the process's known ords as parsed. */
  ords: number[];
  /** Ords found as parsed that another upload may still hold pending (not this one's). */
  knownAsParsed: number[];
  /** The registrations asked for its new tests. */
  registrations: Promise<unknown>[];
}

const emptyBatch = (): Batch => ({
  cases: [],
  keys: [],
  ords: [],
  knownAsParsed: [],
  registrations: [],
});

/** Whether `ord` is one of this upload's own registrations. */
const isMine = (writer: RunWriter, ord: number) =>
  writer.registrations.some((r) => ord >= r.first && ord <= r.last);

/**
 * Takes the ords of the testcases parsed since the last call from the process's known ords,
 * and asks for the registration of the new ones (not known, nor asked already), so that
 * they are registered while the rest of the file is parsed, not once their batch is
 * complete. The registrar makes what is asked meanwhile in one statement. Only when the
 * process keeps the project's ords; else the batch's lookup finds them.
 */
function askNewTests(writer: RunWriter, batch: Batch): void {
  const { orgId, projectId } = writer.ids;
  const { cases, keys, ords } = batch;
  const known = writer.known.ordsOf(orgId, projectId);
  let fresh: NewTest[] | undefined;
  for (let i = ords.length; i < keys.length; i++) {
    const key = keys[i]!;
    const ord = known?.get(key);
    ords.push(ord ?? -1);
    if (ord !== undefined) {
      if (!isMine(writer, ord)) batch.knownAsParsed.push(ord);
      continue;
    }
    if (known === undefined || writer.asked.has(key)) continue;
    writer.asked.add(key);
    const c = cases[i]!;
    (fresh ??= []).push({ key, suite: c.suitePath, classname: c.classname, name: c.name });
  }
  if (fresh === undefined) return;
  const asked = fresh;
  const made = registrarOf(writer)
    .register(asked)
    .finally(() => {
      for (const t of asked) writer.asked.delete(t.key);
    });
  // Surfaced by the batch's lookup, which waits for it.
  made.catch(() => undefined);
  batch.registrations.push(made);
}

/**
 * A batch's lookup, once the registrations asked for it are made: whether the tests known
 * as parsed are still pending for another upload, and, when the process did not keep the
 * project's ords as they were parsed, the ords of the rest (loading them here if the
 * project fits, else from PostgreSQL).
 */
async function lookupBatch(
  trx: Transaction<DB>,
  writer: RunWriter,
  batch: Batch,
): Promise<{ unstored: number[]; found: OrdLookup | null }> {
  const { orgId, projectId } = writer.ids;
  await Promise.all(batch.registrations);
  const unstored = await unstoredAmong(
    trx,
    orgId,
    projectId,
    batch.knownAsParsed,
    writer.registrations,
  );
  if (writer.known.ordsOf(orgId, projectId) !== undefined) return { unstored, found: null };
  const missing = [...new Set(batch.keys.filter((_, i) => batch.ords[i]! < 0))];
  if (missing.length === 0) return { unstored, found: null };
  const found =
    (await writer.known.lookup(trx, orgId, projectId, missing, writer.registrations)) ??
    (await lookupOrds(trx, orgId, projectId, missing));
  return { unstored: [...unstored, ...found.unstored], found };
}

/**
 * Every ord of a batch, in batch order after the batch before it: those its lookup found,
 * those the process knows now (its own registrations, or another upload's of this process
 * since), and the rest registered now.
 */
async function resolveOrds(
  trx: Transaction<DB>,
  writer: RunWriter,
  batch: Batch,
  { unstored, found }: { unstored: number[]; found: OrdLookup | null },
): Promise<void> {
  const { orgId, projectId } = writer.ids;
  const { cases, keys, ords } = batch;
  // Read together: every ord below `next` is known, so a key missing here is new unless
  // registered elsewhere since (the registration finds out).
  const known = writer.known.peek(orgId, projectId, []);
  const knownOrds = writer.known.ordsOf(orgId, projectId);
  const next = known?.next ?? found?.next ?? null;
  const fresh = new Map<string, NewTest>();
  const later: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (ords[i]! >= 0) continue;
    const key = keys[i]!;
    let ord = found?.ords.get(key);
    if (ord === undefined) {
      ord = knownOrds?.get(key);
      // Known since it was parsed and not this upload's: maybe another's, still pending.
      if (ord !== undefined && !isMine(writer, ord)) later.push(ord);
    }
    if (ord !== undefined) ords[i] = ord;
    else if (!fresh.has(key)) {
      const c = cases[i]!;
      fresh.set(key, { key, suite: c.suitePath, classname: c.classname, name: c.name });
    }
  }
  if (fresh.size > 0) {
    const registration = await registrarOf(writer).register([...fresh.values()], next);
    const registered = ordsOfRegistration(registration);
    for (let i = 0; i < keys.length; i++) if (ords[i]! < 0) ords[i] = registered.get(keys[i]!)!;
    unstored.push(...registration.unstored);
  }
  if (later.length > 0)
    unstored.push(...(await unstoredAmong(trx, orgId, projectId, later, writer.registrations)));
  await markStored(trx, orgId, projectId, unstored);
}

/**
 * Stores one batch: each test's first occurrence in the run goes into its block (status,
 * flags, duration), and anything more than a plain pass or skip — and every repeat — into
 * result_details. Blocks are written once every one of their 256 tests is in; the rest at
 * the end of the upload (closeRunWriter).
 */
async function storeBatch(
  trx: Transaction<DB>,
  writer: RunWriter,
  fileId: string,
  { cases, ords }: Batch,
): Promise<void> {
  const details: DetailRow[] = [];
  const full: { block: number; statuses: Buffer; durations: Buffer }[] = [];
  const filled: Block[] = [];
  cases.forEach((tc, i) => {
    const ord = ords[i]!;
    const seq = writer.seq++;
    const n = Math.floor(ord / BLOCK);
    let block = writer.blocks.get(n);
    if (block === undefined) {
      block = emptyBlock();
      writer.blocks.set(n, block);
    }
    const pos = ord % BLOCK;
    if (block.statuses[pos] !== ABSENT) {
      details.push({ tc, ord, seq, duplicate: true });
      return;
    }
    const duration = encodeDuration(tc.durationMs);
    const detailed = !duration.fits || !isPlain(tc);
    block.statuses[pos] = codeOf(tc.status) | (tc.flaky ? FLAKY : 0) | (detailed ? DETAILED : 0);
    block.durations!.writeUInt32BE(duration.micros, pos * 4);
    block.dirty = true;
    if (++block.filled === BLOCK) {
      full.push({ block: n, statuses: block.statuses, durations: block.durations! });
      filled.push(block);
    }
    if (detailed) details.push({ tc, ord, seq, duplicate: false });
  });
  const fileIds = { ...writer.ids, fileId };
  if (details.length > 0) await trx.executeQuery(detailsInsert(trx, fileIds, details));
  if (full.length > 0) await trx.executeQuery(blocksUpsert(trx, writer.ids, full));
  // A full block is never touched again (a further occurrence is a repeat): keep only its
  // statuses, which tell repeats apart.
  for (const b of filled) {
    b.dirty = false;
    b.durations = null;
  }
}

/**
 * Streams one file through the parser into the transaction in batches: memory stays flat,
 * and the caller's transaction means a file that fails half-way leaves nothing behind.
 */
export async function ingestFile(
  trx: Transaction<DB>,
  writer: RunWriter,
  fileId: string,
  file: UploadFile,
  limits: ParserLimits,
): Promise<Totals> {
  const { projectId } = writer.ids;
  // The batch being parsed.
  let batch = emptyBatch();
  const parser = createJUnitParser(
    file.filename,
    (tc) => {
      batch.cases.push(tc);
      batch.keys.push(testKey(projectId, tc));
    },
    limits,
  );
  const decoder = createXmlDecoder();
  // Batches go through three stages, each in batch order: their tests' ords are found
  // (new tests registered as they are parsed, in a short transaction of their own on
  // another connection), then blocks and details written. A batch is looked up as soon as
  // it is parsed, while the one before registers or writes: PostgreSQL, a second backend
  // and the parser work side by side.
  let resolved: Promise<unknown> = Promise.resolve();
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.cases.length === 0) return;
    askNewTests(writer, batch);
    const full = batch;
    batch = emptyBatch();
    const found = lookupBatch(trx, writer, full);
    const before = { resolved, inFlight };
    const ords = (async () => {
      const lookup = await found;
      await before.resolved;
      await resolveOrds(trx, writer, full, lookup);
    })();
    resolved = ords;
    inFlight = (async () => {
      await ords;
      await before.inFlight;
      // The next batch's registration goes out first: this batch's blocks are built while
      // PostgreSQL registers the next one's tests.
      await new Promise(setImmediate);
      await storeBatch(trx, writer, fileId, full);
    })();
    // Surface a failure on the next await, not as an unhandled rejection.
    for (const p of [found, ords, inFlight]) p.catch(() => undefined);
    // At most this batch and the one before it in memory besides the one being parsed.
    await before.inFlight;
  };
  try {
    for await (const chunk of file.stream) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
      // The parse goes a short piece at a time, asking for the new tests after each; while
      // they are registered, with a turn of the event loop in between, so that the
      // registrations' round trips wait for one piece at most.
      for (let at = 0; at < text.length; at += PIECE) {
        parser.write(text.length <= PIECE ? text : text.slice(at, at + PIECE));
        askNewTests(writer, batch);
        if (writer.registrar?.busy === true) await new Promise(setImmediate);
      }
      if (batch.cases.length >= BATCH) await flush();
    }
    parser.write(decoder.end());
    const totals = parser.close();
    await flush();
    // Its last new tests are asked for: no transaction to keep open for more.
    writer.registrar?.idle();
    await inFlight;
    return totals;
  } catch (err) {
    file.stream.destroy();
    // Let batches still on the wire finish before the transaction is rolled back.
    await Promise.allSettled([resolved, inFlight]);
    if (err instanceof JUnitError) throw junitProblem(err);
    if (err instanceof UnsupportedEncodingError)
      throw junitProblem(new JUnitError(file.filename, 1, 1, err.message));
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new AppError(
        400,
        'bad_gzip',
        `${file.filename}: the gzip data is truncated or corrupt`,
      );
    }
    throw err;
  }
}
