import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import type { UploadFile } from './ingest.ts';

const XML_TYPES = new Set(['application/xml', 'text/xml']);

/** The one answer to an upload over the limit, whether Content-Length or the stream says so. */
export function tooLarge(max: number): AppError {
  return new AppError(413, 'too_large', `The upload is larger than the limit of ${max} bytes`);
}

/** Counts bytes through a stream and fails it with 413 past `max` (shared across files). */
function counter(budget: { used: number; max: number }, own: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      own.bytes += chunk.length;
      budget.used += chunk.length;
      if (budget.used > budget.max) done(tooLarge(budget.max));
      else done(null, chunk);
    },
  });
}

/**
 * A client's filename is a display name only: its last path segment, control characters
 * removed (`../../etc/passwd` is `passwd`); nothing usable falls back to `fallback`.
 */
export function displayName(raw: string | undefined, fallback = 'upload.xml'): string {
  // eslint-disable-next-line no-control-regex
  const clean = (raw ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  const last = (clean.split(/[/\\]/).pop() ?? '').trim().slice(0, 255);
  return last === '' || last === '.' || last === '..' ? fallback : last;
}

/** A multipart body that cannot be read: the client's mistake, told as a 400. */
function badMultipart(reason: string): AppError {
  return new AppError(400, 'bad_multipart', `The multipart/form-data body ${reason}`);
}

/**
 * What busboy's errors mean for the client: a missing boundary, a body that ends before its
 * closing boundary. Problems already typed (ours, or @fastify/multipart's 4xx limits) stay.
 */
function multipartProblem(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/boundary not found|boundary required/i.test(message))
    return badMultipart('has no boundary: send "Content-Type: multipart/form-data; boundary=..."');
  if (/unexpected end|terminated early/i.test(message))
    return badMultipart('ends before its closing boundary (--boundary--): it is truncated');
  return badMultipart(`cannot be read: ${message.slice(0, 200)}`);
}

/** A raw body that stops before its declared length (the client went away). */
function rawBodyProblem(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')
    return new AppError(400, 'truncated', 'The upload ended before all of its body arrived');
  return err;
}

const SLICE = 64 * 1024;

/**
 * The source's chunks, its errors mapped to problems the client can act on. Each piece (at
 * most SLICE bytes) is handed on in a turn of the event loop of its own, so a body that
 * has arrived whole is parsed a slice at a time with other requests answered in between.
 */
async function* mapped(source: Readable, map: (err: unknown) => unknown): AsyncGenerator<Buffer> {
  try {
    // Not destroyed when the upload stops reading it (a refusal half-way): destroying the
    // request would end its connection under a client still sending, before the answer.
    // What is left of the body is drained by the answer (sendProblem) instead.
    for await (const chunk of source.iterator({ destroyOnReturn: false })) {
      const bytes = chunk as Buffer;
      for (let at = 0; at < bytes.length; at += SLICE) {
        yield bytes.subarray(at, at + SLICE);
        await nextTurn();
      }
    }
  } catch (err) {
    throw map(err);
  }
}

function decoded(
  filename: string,
  source: Readable,
  gzip: boolean,
  wire: { used: number; max: number },
  problem: (err: unknown) => unknown,
): UploadFile {
  const own = { bytes: 0 };
  const inflated = { used: 0, max: wire.max };
  const out = new PassThrough();
  const stages: NodeJS.ReadWriteStream[] = [counter(wire, own)];
  // A gzip bomb is bounded too: the inflated size counts against the same limit.
  if (gzip) stages.push(createGunzip(), counter(inflated, { bytes: 0 }));
  // Errors reach the reader through `out`; ingestFile turns them into problems.
  const from = Readable.from(mapped(source, problem), { objectMode: false });
  pipeline([from, ...stages, out], () => undefined);
  return { filename, stream: out, bytes: () => own.bytes };
}

/**
 * The files of an upload request: a raw `application/xml`/`text/xml` body (optionally
 * `Content-Encoding: gzip`) or `multipart/form-data` with several files (`.gz` parts are
 * inflated). Checked lazily, so the access check runs before anything is read.
 */
export async function* uploadFiles(
  request: FastifyRequest,
  filename: string | undefined,
  maxBytes: number,
): AsyncGenerator<UploadFile> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const wire = { used: 0, max: maxBytes };
  if (XML_TYPES.has(type)) {
    if (encoding !== 'identity' && encoding !== 'gzip') {
      throw new AppError(
        415,
        'unsupported_encoding',
        `Content-Encoding "${encoding}" is not supported; use gzip or none`,
      );
    }
    const body = request.body as Readable;
    yield decoded(displayName(filename), body, encoding === 'gzip', wire, rawBodyProblem);
    return;
  }
  if (request.isMultipart()) {
    const parts = request.files({ limits: { fileSize: maxBytes, files: 1000, fieldSize: 1024 } });
    try {
      for await (const part of parts) {
        const name = displayName(part.filename);
        const gzip =
          name.endsWith('.gz') ||
          part.mimetype === 'application/gzip' ||
          part.mimetype === 'application/x-gzip';
        yield decoded(name, part.file, gzip, wire, multipartProblem);
      }
    } catch (err) {
      throw multipartProblem(err);
    }
    return;
  }
  throw new AppError(
    415,
    'unsupported_media_type',
    `Upload JUnit XML as application/xml, text/xml or multipart/form-data (got "${type || 'no content type'}")`,
  );
}
