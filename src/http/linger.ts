import type { Readable } from 'node:stream';
import { Socket } from 'node:net';

/** How long a connection answered before its body was read keeps draining that body. */
export const LINGER_MS = 5_000;

/**
 * A lingering close, as Apache and nginx do it, for a request answered before its body was
 * read (an upload refused half-way). Node ends such a connection as soon as the answer is
 * written, and the client's next bytes meet a closed socket — the kernel answers them with a
 * reset, which can discard the answer before the client has read it (the client sees EPIPE
 * or ECONNRESET instead of the 4xx/5xx that says why). Instead, the rest of the body is read
 * and dropped from now on (nothing else consumes it, and a body nobody reads stops the
 * connection being read at all: a client writing its whole body before reading would
 * stall), and after the answer the connection is half-closed (FIN sent) until the client
 * closes its side or `LINGER_MS` pass, whichever comes first: bounded in time, never
 * buffered.
 */
export function lingerOnClose(body: Readable, socket: unknown): void {
  discard(body);
  if (!(socket instanceof Socket)) return; // an injected request has no real connection
  const linger = socket as Socket & { destroySoon?: () => void };
  if (typeof linger.destroySoon !== 'function') return;
  linger.destroySoon = () => {
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.once('end', done);
    socket.once('close', () => clearTimeout(timer));
    socket.end();
    socket.resume();
  };
}

/** Reads and drops what is left of a body (a multipart body is taken from its parser first). */
function discard(body: Readable): void {
  if (body.destroyed) return;
  body.unpipe();
  body.removeAllListeners('data');
  // Read in paused mode, not resume(): an upload's iterator may still be listening for
  // 'readable' (it lets go at its next chunk), and while it is, resume() does nothing.
  const drop = () => {
    while (body.read() !== null);
  };
  body.on('readable', drop);
  drop();
}
