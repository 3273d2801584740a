import type { Readable } from 'node:stream';
import { Socket } from 'node:net';

/** How long a connection answered before its body was read keeps draining that body. */
export const LINGER_MS = 5_000;

/**
 * A lingering close, as Apache and nginx do it: once a request is answered before its body
 * was read (an upload refused half-way), Node ends the connection as soon as the answer is
 * written, and the client's next bytes meet a closed socket — the kernel answers them with a
 * reset, which can discard the answer before the client has read it (the client sees EPIPE
 * or ECONNRESET instead of the 4xx/5xx that says why). Instead, after the answer, the
 * connection is half-closed (FIN sent) and whatever the client still sends is read and
 * dropped until it closes its side or `LINGER_MS` pass, whichever comes first: bounded in
 * time, never buffered.
 */
export function lingerOnClose(socket: unknown): void {
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

/**
 * Reads and drops what is left of a request's body: nothing consumes it once its request is
 * refused (a multipart body is taken from its parser first), and a body nobody reads stops
 * the connection being read at all — the client's writes would stall until the lingering
 * close gives up and resets the connection, before the client read the answer.
 */
export function discardBody(request: Readable): void {
  if (request.destroyed) return;
  request.unpipe();
  request.removeAllListeners('data');
  // Read in paused mode, not resume(): an upload's iterator may still be listening for
  // 'readable' (it lets go at its next chunk), and while it is, resume() does nothing.
  const drop = () => {
    while (request.read() !== null);
  };
  request.on('readable', drop);
  drop();
}
