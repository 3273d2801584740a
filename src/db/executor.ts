import type { Kysely, Transaction } from 'kysely';
import type { DB } from './types.ts';

/** What every query function takes first: the pool, or (inside a unit of work) the transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;
