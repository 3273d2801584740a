import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Caller } from '../db/tenant.ts';
import { Unauthorized } from '../errors.ts';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route is public (no Authorization needed). */
    auth?: boolean;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifySchema {
    /**
     * The body as /openapi.json describes it, for a route that reads its body itself (an
     * upload's stream): documentation only, never validated.
     */
    documentedBody?: unknown;
  }
}

/** The authenticated caller of a route that requires authentication. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null) throw new Unauthorized();
  return request.caller;
}
