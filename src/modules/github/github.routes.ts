import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import { LinkBody, LinkOut, SyncOut, WebhookOut } from './github.schema.ts';
import { createGithubService, WEBHOOK_PATH } from './github.service.ts';

/** GitHub's webhook bodies: an issue's text is at most 65,536 characters; 1 MiB is ample. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export const githubRoutes: Module = (app, deps) => {
  const github = createGithubService({
    db: deps.database.db,
    box: deps.box,
    clock: deps.clock,
    config: deps.config,
  });
  const tags = ['github'];
  const link = '/api/v1/orgs/:org/projects/:project/github';

  app.put(
    link,
    {
      schema: {
        summary: 'Link the project to a GitHub repository',
        tags,
        params: ProjectParams,
        body: LinkBody,
        response: { 200: LinkOut },
      },
    },
    (req) => github.link(callerOf(req), req.params, req.body),
  );
  app.get(
    link,
    {
      schema: {
        summary: "The project's GitHub link (without secrets)",
        tags,
        params: ProjectParams,
        response: { 200: LinkOut },
      },
    },
    (req) => github.get(callerOf(req), req.params),
  );
  app.delete(
    link,
    {
      schema: {
        summary: 'Unlink the project from GitHub',
        tags,
        params: ProjectParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await github.unlink(callerOf(req), req.params);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/orgs/:org/projects/:project/issues/:number/github-sync',
    {
      schema: {
        summary: "Create or update the issue's status comment on GitHub (queued)",
        tags,
        params: IssueParams,
        response: { 202: SyncOut },
      },
    },
    async (req, reply) => reply.code(202).send(await github.requestSync(callerOf(req), req.params)),
  );

  // The HMAC is over the exact bytes GitHub sent, so this one route keeps its body raw: a
  // parser of its own, in a child context (Fastify's encapsulation), with its own size limit.
  void app.register((raw, _opts, done) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    raw.post(
      WEBHOOK_PATH,
      {
        config: { auth: false },
        schema: {
          summary: 'Receive a GitHub webhook (HMAC-verified)',
          tags,
          response: { 200: WebhookOut },
        },
      },
      (req) =>
        github.receiveWebhook({
          event: header(req.headers['x-github-event']),
          deliveryId: header(req.headers['x-github-delivery']),
          signature: header(req.headers['x-hub-signature-256']),
          body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        }),
    );
    done();
  });
};

function header(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value.slice(0, 200) : undefined;
}
