import { PassThrough, Transform, pipeline, type Readable } from 'node:stream';
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

function decoded(
  filename: string,
  source: Readable,
  gzip: boolean,
  wire: { used: number; max: number },
): UploadFile {
  const own = { bytes: 0 };
  const inflated = { used: 0, max: wire.max };
  const out = new PassThrough();
  const stages: NodeJS.ReadWriteStream[] = [counter(wire, own)];
  // A gzip bomb is bounded too: the inflated size counts against the same limit.
  if (gzip) stages.push(createGunzip(), counter(inflated, { bytes: 0 }));
  // Errors reach the reader through `out`; ingestFile turns them into problems.
  pipeline([source, ...stages, out], () => undefined);
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
    yield decoded(displayName(filename), request.body as Readable, encoding === 'gzip', wire);
    return;
  }
  if (request.isMultipart()) {
    for await (const part of request.files({
      limits: { fileSize: maxBytes, files: 1000, fieldSize: 1024 },
    })) {
      const name = displayName(part.filename);
      const gzip =
        name.endsWith('.gz') ||
        part.mimetype === 'application/gzip' ||
        part.mimetype === 'application/x-gzip';
      yield decoded(name, part.file, gzip, wire);
    }
    return;
  }
  throw new AppError(
    415,
    'unsupported_media_type',
    `Upload JUnit XML as application/xml, text/xml or multipart/form-data (got "${type || 'no content type'}")`,
  );
}
