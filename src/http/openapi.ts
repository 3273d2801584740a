import type { RouteOptions } from 'fastify';

/**
 * The capabilities, one OpenAPI tag each, in the order `/docs` lists them. Every route's
 * `tags` names one of these (a test walks /openapi.json to keep it so).
 */
export const CAPABILITIES = {
  auth: 'Sign up, sign in, tokens and switching organizations',
  orgs: 'Organizations: create, rename, delete',
  members: "An organization's members and their roles",
  invitations: 'Inviting people into an organization',
  'api-tokens': 'Tokens for CI, scoped to one organization and role',
  audit: "The organization's audit log",
  projects: 'Projects',
  runs: 'Test runs: JUnit XML uploads and their results',
  tests: "A project's tests: history, failure and flip rates, quarantine",
  gates: 'Quality configuration, gate states and triage',
  issues: 'Tracked issues, reviews and success criteria',
  activities: 'Coordination steps of an issue, with their schedule',
  escalations: 'Escalations to a role, with questions and deadlines',
  risks: 'Risks and mitigations of an issue',
  checkpoints: 'Recurring checks on an issue',
  notes: 'Notes on an issue',
  communications: 'Who was told what about an issue',
  reports: 'The escalation tracking report',
  webhooks: 'Outbound webhooks (Standard Webhooks signatures)',
  github: 'The GitHub link: issue comments and incoming GitHub webhooks',
  events: 'Live updates for the dashboard',
  system: 'Health, readiness, metrics and the API description',
} as const;

/** What each error status means, as the API description says it. */
const ERRORS: Record<number, string> = {
  400: 'Bad Request: a field, parameter or body is invalid (each problem in `errors`)',
  401: 'Unauthorized: no token, or one that is invalid, expired or revoked',
  403: 'Forbidden: the caller lacks the permission (named in `permission`, with the `roles` that have it)',
  404: 'Not Found: no such resource in an organization the caller belongs to',
  409: 'Conflict: it already exists, or the change does not fit the current state',
  413: 'Content Too Large: the body is over the size limit',
  415: 'Unsupported Media Type: the body is not in a type the route accepts (named in `accepted`)',
  422: 'Unprocessable Content',
  429: 'Too Many Requests: try again after Retry-After seconds',
};

const problem = (status: number) => ({
  description: ERRORS[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

interface DocumentedSchema {
  params?: unknown;
  querystring?: unknown;
  headers?: unknown;
  body?: unknown;
  documentedBody?: unknown;
  response?: Record<string, unknown>;
  security?: readonly Record<string, readonly string[]>[];
  [key: string]: unknown;
}

/**
 * The error statuses a route can answer, from what it is: authenticated routes 401 and
 * 403; path parameters 404; anything it validates 400; a body 413 and 415; creating or
 * changing something 409 (a unique key, a state that does not allow it). A route adds
 * others (a 429) by naming them in its `response`.
 */
export function errorStatuses(route: {
  method: string;
  url: string;
  auth: boolean;
  schema: DocumentedSchema;
}): number[] {
  const { method, url, auth, schema } = route;
  const hasBody = schema.body !== undefined || schema.documentedBody !== undefined;
  const statuses = new Set<number>();
  if (
    hasBody ||
    schema.params !== undefined ||
    schema.querystring !== undefined ||
    schema.headers !== undefined
  )
    statuses.add(400);
  if (auth) {
    statuses.add(401);
    statuses.add(403);
  }
  if (url.includes(':')) statuses.add(404);
  if (auth && ['POST', 'PUT', 'PATCH'].includes(method)) statuses.add(409);
  if (hasBody) {
    statuses.add(413);
    statuses.add(415);
  }
  for (const key of Object.keys(schema.response ?? {})) {
    const status = Number(key);
    if (status >= 400 && status < 500) statuses.add(status);
  }
  return [...statuses].sort((a, b) => a - b);
}

/** A schema as plain JSON, with fields that have a default not `required`: Ajv fills them in. */
function defaultsOptional(schema: unknown): unknown {
  if (schema === undefined) return undefined;
  const plain = JSON.parse(JSON.stringify(schema)) as {
    required?: string[];
    properties?: Record<string, { default?: unknown }>;
  };
  if (Array.isArray(plain.required) && plain.properties !== undefined) {
    const required = plain.required.filter((k) => plain.properties?.[k]?.default === undefined);
    if (required.length > 0) plain.required = required;
    else delete plain.required;
  }
  return plain;
}

const SUCCESS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: queued',
  204: 'No Content',
};

/** A success answer with a description: its schema's own, else what its status means. */
function described(status: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const own = value as { description?: unknown; $ref?: unknown };
  if (typeof own.description === 'string' || own.$ref !== undefined) return value;
  const text = SUCCESS[status];
  return text === undefined ? value : { ...own, description: text };
}

/**
 * @fastify/swagger's per-route transform: the error responses a route can give (problem+json),
 * a body documented for routes that read theirs as a stream (uploads), and query values
 * with defaults shown as optional, as they behave. The route's own schema is not changed.
 */
export function documentRoute({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: RouteOptions;
}): { schema: DocumentedSchema; url: string } {
  const own = (schema ?? {}) as DocumentedSchema;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  // A public route that checks the caller itself says so with its own `security`.
  const auth = route.config?.auth !== false || (own.security ?? []).length > 0;
  const response: Record<string, unknown> = {};
  for (const [status, value] of Object.entries(own.response ?? {}))
    if (!/^[45]/.test(status)) response[status] = described(status, value);
  // A route that declares no success answer (a stream, an image) still has one.
  if (!Object.keys(response).some((s) => /^[23]/.test(s)))
    response['200'] = { description: 'OK', content: { '*/*': { schema: {} } } };
  for (const status of errorStatuses({ method: String(methods[0]), url, auth, schema: own }))
    response[status] = problem(status);
  response['5XX'] = {
    description: 'Server error, or the database unavailable (503 with Retry-After)',
    content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
  };
  const documented: DocumentedSchema = { ...own, response };
  if (own.querystring !== undefined) documented.querystring = defaultsOptional(own.querystring);
  if (own.documentedBody !== undefined) documented.body = own.documentedBody;
  delete documented.documentedBody;
  return { schema: documented, url };
}

/** The document's tag list: every capability with its description. */
export const openapiTags = Object.entries(CAPABILITIES).map(([name, description]) => ({
  name,
  description,
}));
