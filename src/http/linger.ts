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
