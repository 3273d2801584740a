import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';

export interface LocalFile {
  path: string;
  /** The name the server stores (the file's base name). */
  name: string;
  size: number;
}

/**
 * `multipart/form-data` whose parts are files gzipped on the fly. Written here rather than
 * taken from an encoder package: those encode a FormData whose files have known bytes
 * and sizes, and a gzip stream made while sending has neither; the format itself is a
 * header per part and a closing line.
 */
export function gzipMultipart(
  files: LocalFile[],
  onRead: (bytes: number) => void,
): { contentType: string; body: () => AsyncGenerator<Buffer> } {
  // 128 random bits: that gzip output happens to contain the boundary line is not a real risk.
  const boundary = `gatehouse-${randomBytes(16).toString('hex')}`;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    // A fresh generator per attempt: files are read again, and only as the request is sent.
    async *body() {
      for (const file of files) {
        yield Buffer.from(
          `--${boundary}\r\n` +
            `Content-Disposition: form-data; name="files"; filename="${quoted(file.name)}"\r\n` +
            'Content-Type: application/gzip\r\n\r\n',
        );
        yield* gzipped(file.path, onRead);
        yield Buffer.from('\r\n');
      }
      yield Buffer.from(`--${boundary}--\r\n`);
    },
  };
}

/** The HTML form encoding of a name in a header parameter. */
const quoted = (name: string) =>
  name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

async function* gzipped(path: string, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  const gzip = createGzip();
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onRead(chunk.length);
      done(null, chunk);
    },
  });
  // Leaving the loop early (the request failed) destroys gzip, and pipeline the rest.
  pipeline(createReadStream(path), counted, gzip, () => undefined);
  for await (const chunk of gzip) yield chunk as Buffer;
}
