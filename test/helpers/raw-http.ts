import net from 'node:net';

/** Sends raw bytes on one connection and collects what comes back until `until` says so. */
export function exchange(socket: net.Socket) {
  let received = '';
  let ended = false;
  const waiters: (() => void)[] = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
    poke();
  });
  socket.on('close', () => {
    ended = true;
    poke();
  });
  return {
    get received() {
      return received;
    },
    get ended() {
      return ended;
    },
    /** Resolves when `check` holds for what was received (or the connection closed). */
    until(check: (text: string) => boolean): Promise<void> {
      return new Promise((resolve) => {
        const test = () => {
          if (check(received) || ended) resolve();
          else waiters.push(test);
        };
        test();
      });
    },
  };
}

/**
 * Sends a whole request on a new connection without waiting for an answer (as a client that
 * writes its body before reading does), then reads until the server closes the connection.
 * `midway.then` runs once `midway.after` bytes of the body are sent, before the rest.
 */
export async function sendWhole(
  port: number,
  head: string,
  body: Buffer,
  midway?: { after: number; then: () => Promise<void> },
) {
  // Half-open allowed: the server's FIN after its answer does not stop this client sending.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  const errors: Error[] = [];
  socket.on('error', (err) => errors.push(err));
  const io = exchange(socket);
  socket.write(head);
  const SLICE = 64 * 1024;
  let pending = midway;
  for (let at = 0; at < body.length && errors.length === 0 && !io.ended; at += SLICE) {
    if (pending !== undefined && at >= pending.after) {
      await pending.then();
      pending = undefined;
    }
    if (!socket.write(body.subarray(at, at + SLICE)))
      await new Promise((r) => {
        socket.once('drain', r);
        socket.once('close', r);
      });
  }
  socket.end();
  await io.until(() => false);
  return { errors, received: io.received };
}

/** `body` framed as `Transfer-Encoding: chunked`, in chunks of `size` bytes. */
export function chunked(body: Buffer, size = 64 * 1024): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
