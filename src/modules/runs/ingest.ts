import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { TestCase, Totals } from '../../domain/junit.ts';
import type { DB } from '../../db/types.ts';
import { AppError } from '../../errors.ts';
import { createJUnitParser, JUnitError, type ParserLimits } from './junit-parser.ts';
import { resultsInsert } from './runs.queries.ts';
import { createXmlDecoder, UnsupportedEncodingError } from './xml-decoder.ts';

export interface UploadFile {
  filename: string;
  stream: Readable;
  /** Bytes read from the wire for this file, known once the stream has ended. */
  bytes(): number;
}

const BATCH = 5000;

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

/**
 * Streams one file through the parser into the transaction in batches: memory stays flat,
 * and the caller's transaction means a file that fails half-way leaves nothing behind.
 */
export async function ingestFile(
  trx: Transaction<DB>,
  ids: { orgId: string; runId: string; projectId: string; fileId: string },
  file: UploadFile,
  limits: ParserLimits,
): Promise<Totals> {
  let batch: TestCase[] = [];
  const parser = createJUnitParser(file.filename, (tc) => batch.push(tc), limits);
  const decoder = createXmlDecoder();
  // One batch is written while the next is parsed and its statement built (columns, test
  // identities, signatures): PostgreSQL waits only for the wire encoding between batches.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0) return;
    const insert = resultsInsert(trx, ids, batch);
    batch = [];
    await inFlight;
    inFlight = trx.executeQuery(insert).then(() => undefined);
    // Surface a failure on the next await, not as an unhandled rejection.
    inFlight.catch(() => undefined);
  };
  try {
    for await (const chunk of file.stream) {
      parser.write(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      if (batch.length >= BATCH) await flush();
    }
    parser.write(decoder.end());
    const totals = parser.close();
    await flush();
    await inFlight;
    return totals;
  } catch (err) {
    file.stream.destroy();
    // Let a batch still on the wire finish before the transaction is rolled back.
    await inFlight.catch(() => undefined);
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
