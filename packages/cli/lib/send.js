// @ts-check
import { Readable } from 'node:stream';
import { URL } from 'node:url';
import { CliError, networkFailure, readJson, refusal } from './api.js';
import { gzipMultipart } from './multipart.js';

/**
 * @typedef {import('./api.js').Auth} Auth
 * @typedef {import('./multipart.js').LocalFile} LocalFile
 * @typedef {{ stderr: import('./api.js').Out, sleep: (ms: number) => Promise<void> }} SendIo
 */

const ATTEMPTS = 4;

/** @param {number} bytes */
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** @param {LocalFile[]} files */
function names(files) {
  const shown = files.slice(0, 3).map((f) => f.name);
  const more = files.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

/**
 * Plain lines in CI logs; a percentage of all the files' bytes on a terminal.
 * @param {SendIo} io
 * @param {LocalFile[]} files
 */
function progress(io, files) {
  const total = files.reduce((n, f) => n + f.size, 0);
  const label =
    files.length === 1 && files[0] !== undefined ? files[0].name : `${files.length} files`;
  const tty = io.stderr.isTTY === true && total > 1024 * 1024;
  let read = 0;
  let lastShown = 0;
  if (!tty) io.stderr.write(`Uploading ${names(files)} (${mb(total)})\n`);
  return {
    label,
    restart() {
      read = 0;
    },
    /** @param {number} bytes */
    add(bytes) {
      read += bytes;
      if (tty && (Date.now() - lastShown > 100 || read === total)) {
        lastShown = Date.now();
        io.stderr.write(`\r${label}: ${Math.floor((100 * read) / total)}% of ${mb(total)}`);
        if (read === total) io.stderr.write('\n');
      }
    },
  };
}

/**
 * Every file in one streamed multipart request, so one CI step is one atomic upload. The
 * whole request is retried with the same Idempotency-Key on network errors, 5xx and 429
 * (honouring Retry-After), reading the files again.
 * @template T
 * @param {string} base
 * @param {string} url
 * @param {LocalFile[]} files
 * @param {string} key
 * @param {Auth} auth
 * @param {SendIo} io
 * @returns {Promise<T>}
 */
export async function sendFiles(base, url, files, key, auth, io) {
  const meter = progress(io, files);
  const what = `POST ${new URL(url).pathname}`;
  const subject = files.length === 1 && files[0] !== undefined ? files[0].name : 'the upload';
  for (let attempt = 1; ; attempt++) {
    meter.restart();
    const form = gzipMultipart(files, (n) => meter.add(n));
    const body = Readable.from(form.body(), { objectMode: false });
    let retryAfterMs = 1000 * 2 ** (attempt - 1);
    let failure;
    try {
      const res = await globalThis.fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': form.contentType, 'idempotency-key': key },
        body: /** @type {ReadableStream} */ (Readable.toWeb(body)),
        duplex: 'half',
      });
      if (res.ok) return /** @type {T} */ (await readJson(base, what, res));
      const after = Number(res.headers.get('retry-after'));
      const refused = await refusal(base, what, res, subject);
      if (!refused.transient) throw refused;
      if (Number.isFinite(after) && after > 0) retryAfterMs = Math.min(after, 60) * 1000;
      failure = refused.message;
    } catch (err) {
      if (err instanceof CliError) throw err;
      failure = `cannot reach Gatehouse at ${base}: ${networkFailure(err)}`;
    } finally {
      body.destroy();
    }
    if (attempt >= ATTEMPTS)
      throw new CliError(`${subject} could not be uploaded after ${ATTEMPTS} attempts: ${failure}`);
    io.stderr.write(
      `${meter.label}: ${failure}; retrying in ${Math.round(retryAfterMs / 1000)}s (attempt ${attempt + 1} of ${ATTEMPTS})\n`,
    );
    await io.sleep(retryAfterMs);
  }
}
