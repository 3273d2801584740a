import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, { type FastifySchema } from 'fastify';
import helmet from 'helmet';
import { uuidv7 } from 'uuidv7';
import { BadInput, NotFound } from '../errors.ts';
import { serializeRequest } from '../logger.ts';
import { createAccessTokens } from '../modules/auth/access-tokens.ts';
import { authRoutes } from '../modules/auth/auth.routes.ts';
import { apiTokenRoutes } from '../modules/api-tokens/api-tokens.routes.ts';
import { auditRoutes } from '../modules/audit/audit.routes.ts';
import { invitationRoutes } from '../modules/invitations/invitations.routes.ts';
import { memberRoutes } from '../modules/members/members.routes.ts';
import { orgRoutes } from '../modules/orgs/orgs.routes.ts';
import { projectRoutes } from '../modules/projects/projects.routes.ts';
import { runRoutes } from '../modules/runs/runs.routes.ts';
import { issueRoutes } from '../modules/issues/issues.routes.ts';
import { gateRoutes } from '../modules/gates/gates.routes.ts';
import { githubRoutes } from '../modules/github/github.routes.ts';
import { webhookRoutes } from '../modules/webhooks/webhooks.routes.ts';
import { activityRoutes } from '../modules/activities/activities.routes.ts';
import { escalationRoutes } from '../modules/escalations/escalations.routes.ts';
import { checkpointRoutes } from '../modules/checkpoints/checkpoints.routes.ts';
import { riskRoutes } from '../modules/risks/risks.routes.ts';
import { noteRoutes } from '../modules/notes/notes.routes.ts';
import { communicationRoutes } from '../modules/communications/communications.routes.ts';
import { reportRoutes } from '../modules/reports/reports.routes.ts';
import { testRoutes } from '../modules/tests/tests.routes.ts';
import { eventRoutes } from '../modules/events/events.routes.ts';
import { badgeRoutes } from '../modules/badges/badges.routes.ts';
import { callerFromHeader } from './authenticate.ts';
import { schemaRoutes } from './schemas.routes.ts';
import { systemRoutes } from './system.routes.ts';
import { webRoutes } from './web.ts';
import { looksLikeXml, refusedType, unsupportedMediaType, xmlSentAsJson } from './content-types.ts';
import { createMetrics } from './metrics.ts';
import { documentRoute, openapiTags } from './openapi.ts';
import type { AppDeps, Module } from './module.ts';
import {
  answerClientError,
  answerFrameworkError,
  MAX_PATH_SEGMENT,
  Problem,
  segmentTooLong,
  sendProblem,
  toAppError,
} from './problem.ts';
import type { App } from './types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Bodies are validated strictly (a number is not a string); query and path values are coerced. */
function createValidators() {
  const common = {
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    // Errors carry the value that failed, so a problem can say what was given.
    verbose: true,
  } as const;
  const strict = addFormats(new Ajv({ ...common, coerceTypes: false }));
  const coercing = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
  return ({ schema, httpPart }: { schema: FastifySchema; httpPart?: string }) =>
    httpPart === 'body'
      ? strict.compile(schema as object)
      : decimalOnly(schema as JsonSchema, coercing.compile(schema as object));
}

interface JsonSchema {
  type?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

const DECIMAL: Record<string, RegExp> = { integer: /^-?\d+$/, number: /^-?\d+(\.\d+)?$/ };

/**
 * Ajv's coercion reads `1e3`, `0x10` and an empty string as numbers; a query or path number
 * is plain decimal digits, so those are refused before Ajv sees them.
 */
function decimalOnly(schema: JsonSchema, validate: ValidateFunction): ValidateFunction {
  const numeric = Object.entries(schema.properties ?? {}).flatMap(([name, s]) => {
    const type = typeof s.type === 'string' ? s.type : s.items?.type;
    const pattern = typeof type === 'string' ? DECIMAL[type] : undefined;
    return pattern === undefined ? [] : [{ name, pattern, kind: type as string }];
  });
  if (numeric.length === 0) return validate;
  const check = ((data: Record<string, unknown> | null | undefined) => {
    const errors = numeric.flatMap(({ name, pattern, kind }) => {
      const raw = data?.[name];
      const values: unknown[] = Array.isArray(raw) ? raw : [raw];
      const bad = values.find((v) => typeof v === 'string' && !pattern.test(v));
      return bad === undefined
        ? []
        : [
            {
              instancePath: `/${name}`,
              schemaPath: `#/properties/${name}/type`,
              keyword: 'decimal',
              params: {},
              message: `${JSON.stringify(bad)} is not ${kind === 'integer' ? 'a whole number in decimal digits' : 'a decimal number'}`,
            },
          ];
    });
    if (errors.length > 0) {
      check.errors = errors;
      return false;
    }
    const ok = validate(data);
    check.errors = validate.errors ?? null;
    return ok;
  }) as ValidateFunction;
  return check;
}

const NUL_OR_LONE_SURROGATE =
  // eslint-disable-next-line no-control-regex -- finding the NUL character is the point
  /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first string (or key) in a parsed query, path or JSON body that PostgreSQL cannot
 * store: a NUL character or an unpaired UTF-16 surrogate. Streams (raw XML) are not walked.
 */
function unstorable(value: unknown, path: string): { path: string; message: string } | null {
  if (typeof value === 'string') {
    const m = NUL_OR_LONE_SURROGATE.exec(value);
    if (m === null) return null;
    return {
      path,
      message: m[0] === '\u0000' ? 'contains a NUL character' : 'contains an unpaired surrogate',
    };
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unstorable(item, `${path}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    // A raw upload's body is a stream, read (and checked) by its route.
    if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function')
      return null;
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = unstorable(key, `${path}/${key.replace(/[^\x20-\x7e]/g, '?')}`);
      if (keyProblem !== null) return keyProblem;
      const found = unstorable(item, `${path}/${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

const MODULES: Module[] = [
  systemRoutes,
  schemaRoutes,
  authRoutes,
  orgRoutes,
  memberRoutes,
  invitationRoutes,
  apiTokenRoutes,
  auditRoutes,
  projectRoutes,
  runRoutes,
  testRoutes,
  issueRoutes,
  gateRoutes,
  githubRoutes,
  webhookRoutes,
  activityRoutes,
  escalationRoutes,
  checkpointRoutes,
  riskRoutes,
  noteRoutes,
  communicationRoutes,
  reportRoutes,
  eventRoutes,
  badgeRoutes,
];

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger } = deps;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => uuidv7(),
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT },
    // Headers over Node's limit (431), unparsable requests, over-long path parameters (414)
    // and bad URL encoding answer problem+json too.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    trustProxy: config.web.trustProxy,
    ajv: { customOptions: { removeAdditional: false } },
    // Fastify's own request serializer logs the query string verbatim, secrets and all.
    childLoggerFactory: (logger, bindings, opts) =>
      logger.child(bindings, {
        ...opts,
        serializers: { ...opts.serializers, req: serializeRequest },
      }),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(createValidators());
  // JSON as Fastify parses it, except that an XML body sent as JSON is told so; no plain
  // text parser, so a text body is a 415 naming the types the route takes.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (looksLikeXml(text)) done(xmlSentAsJson(request), undefined);
    else void parseJson(request, text, done);
  });
  app.addSchema(Problem);
  app.decorateRequest('caller', null);

  // Every route answers errors as problem+json, described once in the schema.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) {
      route.config = { ...route.config, auth: false };
      return;
    }
    route.schema ??= {};
    const response = (route.schema.response ??= {}) as Record<string, unknown>;
    response['4xx'] ??= { $ref: 'Problem#' };
    response['5xx'] ??= { $ref: 'Problem#' };
    if (route.config?.auth !== false) route.schema.security ??= [{ bearer: [] }];
  });

  app.addHook('onSend', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
  });

  const tokens = createAccessTokens({
    keys: deps.keys,
    clock: deps.clock,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: config.auth.accessTokenTtlSeconds,
  });

  // A path segment longer than any route takes is a 414 whichever route would have matched
  // (the dashboard's static files take any path; the API's own routes refuse it themselves).
  app.addHook('onRequest', (request, _reply, done) =>
    done(segmentTooLong(request.url) ?? undefined),
  );

  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.routeOptions.config.auth === false) return;
    request.caller = await callerFromHeader(request.headers.authorization, request.id, tokens);
  });

  // One gate for every route: text PostgreSQL cannot store is a 400 naming the field, not a 500.
  app.addHook('preValidation', (request, _reply, done) => {
    // A body in a type the route does not take (XML to a JSON route, JSON to an upload).
    if (refusedType(request)) {
      done(unsupportedMediaType(request));
      return;
    }
    const parts = [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const;
    for (const [part, value] of parts) {
      const found = unstorable(value, part);
      if (found !== null) {
        done(new BadInput(`${found.path} ${found.message}`, [found]));
        return;
      }
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const problem =
      (error as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? unsupportedMediaType(request)
        : toAppError(error instanceof Error ? error : new Error(String(error)));
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler({}, (request, reply) =>
    sendProblem(
      request,
      reply,
      new NotFound(`No route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  createMetrics(app, deps.database);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse API',
        version: '1',
        description: 'QA coordination: results, gates, escalations, reports.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      tags: openapiTags,
    },
    transform: documentRoute,
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) =>
        typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`,
    },
  });
  await app.register(multipart, {
    limits: { fileSize: config.uploads.maxBytes, files: 1000, fields: 10, fieldSize: 1024 },
  });
  // Security headers on every response; /docs replaces the CSP with swagger-ui's own
  // (staticCSP, set by its route hook after this one), so the browsable docs keep working.
  // Helmet's middleware is built once: @fastify/helmet built it (and parsed the CSP) again on
  // every request, 1-2% of the server's time on a read.
  const securityHeaders = helmet({
    frameguard: { action: 'deny' },
    contentSecurityPolicy: {
      directives: {
        // The dashboard: its own scripts only (no inline), never framed (clickjacking).
        'script-src': ["'self'"],
        'connect-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        // On plain http (a local install) upgrading requests would break every asset.
        'upgrade-insecure-requests': config.publicUrl.startsWith('https:') ? [] : null,
      },
    },
  });
  app.addHook('onRequest', (req, reply, done) => {
    securityHeaders(req.raw, reply.raw, (err) => done(err instanceof Error ? err : undefined));
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true },
    staticCSP: true,
  });

  for (const register of MODULES) register(app, { ...deps, tokens });
  await webRoutes(app, config);
  return app;
}
