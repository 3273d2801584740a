import { Type } from 'typebox';

/** `owner/name` as GitHub allows them (checked by the service after the access check, so
 *  another org's project is a 404 whatever the body). */
export const GITHUB_REPO = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const GithubRepo = Type.String({
  minLength: 3,
  maxLength: 140,
  description: 'owner/name',
  examples: ['octocat/hello-world'],
});

export const LinkBody = Type.Object(
  {
    repo: GithubRepo,
    /** A token that may write issue comments and commit statuses on the repository. */
    token: Type.String({ minLength: 1, maxLength: 1000, pattern: '^\\S+$' }),
    /** GitHub Enterprise Server's REST API, e.g. `https://github.example.com/api/v3`. */
    apiUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    /** The secret GitHub signs this repository's webhook deliveries with. */
    webhookSecret: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
  },
  { additionalProperties: false },
);

/** A link as it is shown: never the token or the webhook secret. */
export const LinkOut = Type.Object({
  repo: Type.String(),
  apiUrl: Type.String(),
  hasWebhookSecret: Type.Boolean(),
  webhookUrl: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const SyncOut = Type.Object({
  queued: Type.Boolean(),
  /** false: a sync of this issue was already waiting, and it will pick up this change. */
  newJob: Type.Boolean(),
});

export const WebhookOut = Type.Object({
  /** The linked projects whose secret verified the signature. */
  matched: Type.Integer(),
  /** Tracked issues whose phase changed. */
  changed: Type.Integer(),
});
