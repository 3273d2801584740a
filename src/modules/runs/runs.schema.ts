import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { ProjectKey } from '../projects/projects.schema.ts';
import { GateReportOut } from '../gates/gates.schema.ts';

export const RunParams = Type.Object(
  { org: Slug, project: ProjectKey, runId: Uuid },
  { additionalProperties: false },
);

export const UploadQuery = Type.Object(
  {
    commit: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    build: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    attempt: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    issue: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000_000 })),
    shards: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description:
          'Uploads this run expects (CI that splits a build across jobs, with the same build and attempt). The run stays open, without gates, until they have arrived, it has been quiet for GATEHOUSE_RUN_QUIET_SECONDS, or it is completed with POST .../runs/:runId/complete.',
      }),
    ),
    filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const UploadHeaders = Type.Object({
  'content-encoding': Type.Optional(
    Type.String({
      maxLength: 50,
      description:
        'gzip when the XML body is gzip-compressed (then keep Content-Type: application/xml)',
    }),
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Retrying with the same key answers the run the first request created, without a second upload',
    }),
  ),
});

const xmlFile = {
  type: 'string',
  format: 'binary',
  description:
    'JUnit XML (<testsuites> or <testsuite>), UTF-8 or as its declaration says; send with Content-Encoding: gzip to upload it compressed',
};

/**
 * The upload's body as /openapi.json shows it (the route reads the body as a stream, so
 * this is documentation, not validation): raw XML, or multipart with several files.
 */
export const UploadBody = {
  description:
    'One JUnit XML file as the raw body (gzip-compressed with Content-Encoding: gzip), or several as multipart/form-data parts (a part named *.gz or typed application/gzip is inflated)',
  content: {
    'application/xml': { schema: xmlFile },
    'text/xml': { schema: xmlFile },
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: {
          files: {
            type: 'array',
            items: { type: 'string', format: 'binary' },
            description: 'JUnit XML files (.xml, or .xml.gz gzip-compressed); any part name works',
          },
        },
      },
    },
  },
};

export const ListRunsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    commit: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    issue: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000_000 })),
  },
  { additionalProperties: false },
);

export const ResultsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(
      Type.Union(['passed', 'failed', 'error', 'skipped'].map((s) => Type.Literal(s))),
    ),
  },
  { additionalProperties: false },
);

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const Totals = Type.Object({
  tests: Type.Integer(),
  passed: Type.Integer(),
  failed: Type.Integer(),
  errored: Type.Integer(),
  skipped: Type.Integer(),
  flaky: Type.Integer(),
});

export const RunOut = Type.Object({
  id: Uuid,
  project: Type.String(),
  commit: Nullable(Type.String()),
  branch: Nullable(Type.String()),
  build: Nullable(Type.String()),
  attempt: Type.Integer(),
  issue: Nullable(Type.Integer()),
  status: Type.Union([Type.Literal('open'), Type.Literal('complete')], {
    description: 'open: still receiving shards, not judged yet; complete: judged',
  }),
  shards: Nullable(Type.Integer({ description: 'uploads expected; null: complete per upload' })),
  uploadsReceived: Type.Integer({ description: 'uploads received so far' }),
  totals: Totals,
  passRate: Nullable(Type.Number()),
  durationMs: Type.Number(),
  files: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastUploadAt: Type.String({ format: 'date-time' }),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
  url: Type.String(),
  gates: Type.Optional(GateReportOut),
});

export const RunDetailOut = Type.Object({
  ...RunOut.properties,
  uploads: Type.Array(
    Type.Object({
      id: Uuid,
      filename: Type.String(),
      bytes: Type.Integer(),
      tests: Type.Integer(),
      createdAt: Type.String({ format: 'date-time' }),
    }),
  ),
});

export const ResultOut = Type.Object({
  id: Type.String(),
  testId: Type.String(),
  suite: Type.String(),
  classname: Type.String(),
  name: Type.String(),
  status: Type.String(),
  durationMs: Nullable(Type.Number()),
  failureType: Nullable(Type.String()),
  failureMessage: Nullable(Type.String()),
  failureText: Nullable(Type.String()),
  systemOut: Nullable(Type.String()),
  systemErr: Nullable(Type.String()),
  truncated: Type.Boolean(),
  flaky: Type.Boolean(),
  reruns: Type.Array(
    Type.Object({
      kind: Type.String(),
      type: Nullable(Type.String()),
      message: Nullable(Type.String()),
    }),
  ),
  properties: Type.Record(Type.String(), Type.String()),
});
