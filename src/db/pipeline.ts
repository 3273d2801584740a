import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';

// Several statements in one round trip: every statement's Parse (once per connection),
// Bind, Describe and Execute, then one Sync, written to the socket at once. PostgreSQL runs
// them in one implicit transaction that ends at the Sync, so settings made local by the
// first (the tenant door's role and org) hold for the ones after it and are gone after; an
// error in one skips the rest, up to the Sync, and rolls the whole back.
//
// Why: on two busy cores every round trip costs a wake-up of PostgreSQL and one of Node, and
// the socket writes were the largest share of the server's time on the history reads. A
// tenant read as BEGIN, the door, the read and COMMIT is four round trips; pipelined, one
// (measured: 2.5x the statements per second and a third of Node's CPU per read).

const require = createRequire(import.meta.url);
// pg's own parameter encoding (Dates, Buffers, arrays, JSON), as its Query uses.
const { prepareValue } = require('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

/** The name a statement is prepared under on a connection: the same as Kysely's queries'. */
export function statementName(text: string): string {
  return `k${createHash('sha1').update(text).digest('base64url')}`;
}

/** What pg's Connection offers a query object: the protocol messages it writes. */
interface Wire {
  parsedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name: string }): void;
  bind(msg: {
    statement: string;
    values: readonly unknown[];
    valueMapper: typeof prepareValue;
  }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(msg: { portal: string }): void;
  sync(): void;
  on(event: 'parseComplete', fn: () => void): void;
  off(event: 'parseComplete', fn: () => void): void;
}

type Result = { rows: Record<string, unknown>[] };

/**
 * A pg query object that sends `statements` as one pipeline. pg's Query gathers each
 * statement's rows into a result of its own (as for a multi-statement simple query), so
 * the callback gets one result per statement. Statements are prepared under statementName
 * once per connection; a Parse counts as done only when PostgreSQL acknowledged it (one
 * skipped after an error is sent again next time).
 */
class Pipeline extends pg.Query {
  #statements: readonly CompiledQuery[];
  #unacknowledged: { name: string; text: string }[] = [];
  #wire: Wire | undefined;
  #onParsed = () => {
    const parsed = this.#unacknowledged.shift();
    if (parsed !== undefined && this.#wire !== undefined)
      this.#wire.parsedStatements[parsed.name] = parsed.text;
  };

  constructor(
    statements: readonly CompiledQuery[],
    callback: (err: Error | undefined, results: unknown) => void,
  ) {
    super({ text: statements.map((s) => s.sql).join(';\n') });
    this.#statements = statements;
    (this as unknown as { callback: typeof callback }).callback = callback;
  }

  requiresPreparation(): boolean {
    return true;
  }

  prepare(wire: Wire): void {
    this.#wire = wire;
    wire.on('parseComplete', this.#onParsed);
    for (const s of this.#statements) {
      const name = statementName(s.sql);
      // Parsed once, even when the pipeline holds the same statement twice.
      if (
        wire.parsedStatements[name] === undefined &&
        !this.#unacknowledged.some((u) => u.name === name)
      ) {
        wire.parse({ text: s.sql, name });
        this.#unacknowledged.push({ name, text: s.sql });
      }
      wire.bind({ statement: name, values: s.parameters, valueMapper: prepareValue });
      wire.describe({ type: 'P', name: '' });
      wire.execute({ portal: '' });
    }
    wire.sync();
  }

  #done(): void {
    this.#wire?.off('parseComplete', this.#onParsed);
    this.#unacknowledged = [];
  }

  handleError(err: Error, connection: unknown): void {
    this.#done();
    (
      pg.Query.prototype as unknown as { handleError: (e: Error, c: unknown) => void }
    ).handleError.call(this, err, connection);
  }

  handleReadyForQuery(connection: unknown): void {
    this.#done();
    (
      pg.Query.prototype as unknown as { handleReadyForQuery: (c: unknown) => void }
    ).handleReadyForQuery.call(this, connection);
  }
}

/**
 * Runs `statements` on `client` in one round trip (see above) and answers each one's rows.
 * Each statement must return rows (a SELECT, or DML with RETURNING): one result a statement.
 */
export function pipelined(
  client: pg.ClientBase,
  statements: readonly CompiledQuery[],
): Promise<Record<string, unknown>[][]> {
  return new Promise((resolve, reject) => {
    const query = new Pipeline(statements, (err, results) => {
      if (err !== undefined && err !== null) return reject(err);
      const list = (Array.isArray(results) ? results : [results]) as Result[];
      if (list.length !== statements.length)
        return reject(
          new Error(
            `a pipeline of ${statements.length} statements answered ${list.length} results`,
          ),
        );
      resolve(list.map((r) => r.rows));
    });
    void client.query(query as unknown as pg.Submittable);
  });
}
