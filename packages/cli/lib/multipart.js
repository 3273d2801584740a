// @ts-check
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';

/**
 * @typedef {object} LocalFile
 * @property {string} path
 * @property {string} name the name the server stores (the file's base name)
 * @property {number} size
 */

/**
 * `multipart/form-data` whose parts are files gzipped on the fly. Written here rather than
 * taken from an encoder package: those encode a FormData whose files have known bytes
 * and sizes, and a gzip stream made while sending has neither; the format itself is a
 * header per part and a closing line.
 * @param {LocalFile[]} files
 * @param {(bytes: number) => void} onRead
 * @returns {{ contentType: string, body: () => AsyncGenerator<Buffer> }}
 */
export function gzipMultipart(files, onRead) {
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

/**
 * The HTML form encoding of a name in a header parameter.
 * @param {string} name
 */
const quoted = (name) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * @param {string} path
 * @param {(bytes: number) => void} onRead
 * @returns {AsyncGenerator<Buffer>}
 */
async function* gzipped(path, onRead) {
  const gzip = createGzip();
  const counted = new Transform({
    transform(/** @type {Buffer} */ chunk, _enc, done) {
      onRead(chunk.length);
      done(null, chunk);
    },
  });
  // Leaving the loop early (the request failed) destroys gzip, and pipeline the rest.
  pipeline(createReadStream(path), counted, gzip, () => undefined);
  for await (const chunk of gzip) yield /** @type {Buffer} */ (chunk);
}
