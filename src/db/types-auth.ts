/*
 * Columns added by migration 0012 (auth under concurrency). The auth queries reach them
 * through typed `sql` templates, so the table types in types.ts stay as they were.
 */

/** login_throttle after a sign-in attempt was counted (or refused). */
export interface LoginThrottleRow {
  failures: number;
  window_started_at: Date;
  /** Attempts whose password is being (or waiting to be) evaluated. */
  pending: number;
  /** When an attempt was last counted as pending, by the app's clock. */
  pending_at: Date | null;
}

/** refresh_tokens.rotated_at: when the token was exchanged for a successor (app clock). */
export interface RefreshTokenRotation {
  rotated_at: Date | null;
}
