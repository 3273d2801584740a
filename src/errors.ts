/** The typed error family; each maps to one HTTP status and a stable code. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends AppError {
  constructor(message = 'Not found') {
    super(404, 'not_found', message);
  }
}
export class Forbidden extends AppError {
  /** `extra` goes into the problem body, e.g. the permission lacking and who holds it. */
  constructor(
    message = 'You do not have permission to do this',
    extra: Record<string, unknown> = {},
  ) {
    super(403, 'forbidden', message, extra);
  }
}
export class Unauthorized extends AppError {
  constructor(message = 'Authentication required') {
    super(401, 'unauthorized', message, {}, { 'www-authenticate': 'Bearer' });
  }
}
export class Conflict extends AppError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}
export class BadInput extends AppError {
  constructor(message: string, errors: { path: string; message: string }[] = []) {
    super(400, 'bad_input', message, errors.length > 0 ? { errors } : {});
  }
}
export class TooManyRequests extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'too_many_requests', message, {}, { 'retry-after': String(retryAfterSeconds) });
  }
}
export class Unavailable extends AppError {
  constructor(message = 'The database is unavailable; try again shortly', retryAfterSeconds = 5) {
    super(503, 'unavailable', message, {}, { 'retry-after': String(retryAfterSeconds) });
  }
}
