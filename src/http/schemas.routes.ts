import { Type } from 'typebox';
import { qualityConfigJsonSchema } from '../modules/gates/gates.schema.ts';
import type { Module } from './module.ts';

/** JSON Schemas of documents users write by hand, for their editors: public. */
export const schemaRoutes: Module = (app, { config }) => {
  const qualityConfig = JSON.stringify(qualityConfigJsonSchema(config.publicUrl), null, 2);

  app.get(
    '/schemas/quality-config.json',
    {
      config: { auth: false },
      schema: {
        tags: ['gates'],
        summary: 'The quality configuration as JSON Schema (draft-07), for editors',
        description:
          'The schema PUT .../quality-config validates its body with. Point an editor at it with "$schema": "<this URL>" in the file. The server also checks what a schema cannot: metric names and values, references between categories, gates and criteria, patterns.',
        response: {
          200: {
            description: 'A JSON Schema',
            content: {
              // Sent already serialized, hence a string to the type checker.
              'application/schema+json': {
                schema: Type.Unsafe<string>({ type: 'object', additionalProperties: true }),
              },
            },
          },
        },
      },
    },
    async (_req, reply) => {
      void reply.type('application/schema+json').header('cache-control', 'public, max-age=300');
      return qualityConfig;
    },
  );
};
