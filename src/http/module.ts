import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import type { Clock } from '../lib/clock.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { AccessTokens } from '../modules/auth/access-tokens.ts';
import type { KeyStore } from '../modules/auth/signing-keys.ts';
import type { App } from './types.ts';

/** What `buildApp` is given. */
export interface AppDeps {
  config: Config;
  database: Database;
  logger: Logger;
  keys: KeyStore;
  clock: Clock;
  /** Encrypts secrets at rest (webhook secrets, GitHub tokens). */
  box: SecretBox;
}

/** What each module's routes are given: the app's dependencies and the access tokens it built. */
export type ModuleDeps = AppDeps & { tokens: AccessTokens };

/** A module registers its routes on the app; `buildApp` lists the modules. */
export type Module = (app: App, deps: ModuleDeps) => void;
