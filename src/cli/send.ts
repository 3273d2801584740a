import { Readable } from 'node:stream';
import { CliError, networkFailure, readJson, refusal, type Auth } from './api.ts';
import { gzipMultipart, type LocalFile } from './multipart.ts';

export interface SendIo {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  sleep: (ms: number) => Promise<void>;
}

const ATTEMPTS = 4;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function names(files: LocalFile[]): string {
  const shown = files.slice(0, 3).map((f) => f.name);
  const more = files.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

/** Plain lines in CI logs; a percentage of all the files' bytes on a terminal. */
function progress(io: SendIo, files: LocalFile[]) {
  const total = files.reduce((n, f) => n + f.size, 0);
  const label = files.length === 1 ? files[0]!.name : `${files.length} files`;
  const tty = io.stderr.isTTY === true && total > 1024 * 1024;
  let read = 0;
  let lastShown = 0;
  if (!tty) io.stderr.write(`Uploading ${names(files)} (${mb(total)})\n`);
  return {
    label,
    restart() {
      read = 0;
    },
    add(bytes: number) {
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
 */
export async function sendFiles<T>(
  base: string,
  url: string,
  files: LocalFile[],
  key: string,
  auth: Auth,
  io: SendIo,
): Promise<T> {
  const meter = progress(io, files);
  const what = `POST ${new URL(url).pathname}`;
  const subject = files.length === 1 ? files[0]!.name : 'the upload';
  for (let attempt = 1; ; attempt++) {
    meter.restart();
    const form = gzipMultipart(files, (n) => meter.add(n));
    const body = Readable.from(form.body(), { objectMode: false });
    let retryAfterMs = 1000 * 2 ** (attempt - 1);
    let failure: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': form.contentType, 'idempotency-key': key },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      });
      if (res.ok) return await readJson<T>(base, what, res);
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
