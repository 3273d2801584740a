/**
 * Gatehouse cannot start for a reason the person starting it can fix (a data directory in
 * use or out of reach, a port taken): `gatehouse` prints the message as one line and exits 2,
 * without a stack trace.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
