import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, { type FastifySchema } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { NotFound, Unauthorized } from '../errors.ts';
import { parseOrgSecret } from '../lib/tokens.ts';
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
import { systemRoutes } from './system.routes.ts';
import { createMetrics } from './metrics.ts';
import type { AppDeps, Module } from './module.ts';
import { Problem, sendProblem, toAppError } from './problem.ts';
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
    (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

const MODULES: Module[] = [
  systemRoutes,
  authRoutes,
  orgRoutes,
  memberRoutes,
  invitationRoutes,
  apiTokenRoutes,
  auditRoutes,
  projectRoutes,
  runRoutes,
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
];

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger } = deps;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => uuidv7(),
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(createValidators());
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

  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.routeOptions.config.auth === false) return;
    const header = request.headers.authorization;
    if (header === undefined) throw new Unauthorized();
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (match === null) throw new Unauthorized('Use "Authorization: Bearer <token>"');
    const token = match[1]!;
    if (token.startsWith('gth_')) {
      const parsed = parseOrgSecret('gth', token);
      if (parsed === null) throw new Unauthorized('The API token is invalid, expired or revoked');
      request.caller = {
        actor: { kind: 'token', orgId: parsed.orgId, tokenHash: parsed.hash },
        requestId: request.id,
      };
      return;
    }
    const claims = await tokens.verify(token);
    request.caller = {
      actor: { kind: 'user', userId: claims.sub, sessionId: claims.sid, orgId: claims.org },
      requestId: request.id,
    };
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toAppError(error instanceof Error ? error : new Error(String(error)));
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
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) =>
        typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`,
    },
  });
  await app.register(multipart, {
    limits: { fileSize: config.uploads.maxBytes, files: 1000, fields: 10, fieldSize: 1024 },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true },
    staticCSP: true,
  });

  for (const register of MODULES) register(app, { ...deps, tokens });
  return app;
}
