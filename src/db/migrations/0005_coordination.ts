import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/**
 * Coordination: activities on a schedule, escalations with response clocks and a chain of
 * levels, risks, checkpoints, notes, the communications log, outbound webhooks with their
 * deliveries, and GitHub links with the one status comment per issue.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE tracked_issues
      ADD COLUMN target_date date,
      ADD COLUMN phase_before text,
      ADD COLUMN phase_changed_at timestamptz;

    CREATE TABLE activities (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      key text NOT NULL,
      title text NOT NULL,
      owner_role text NOT NULL,
      owner_user_id uuid,
      status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ready', 'waiting', 'in_progress', 'done', 'blocked')),
      min_days double precision NOT NULL CHECK (min_days >= 0),
      max_days double precision NOT NULL CHECK (max_days >= min_days),
      likely_days double precision,
      deliverable text,
      depends_on text[] NOT NULL DEFAULT '{}',
      gates text[] NOT NULL DEFAULT '{}',
      position integer NOT NULL DEFAULT 0,
      started_at timestamptz,
      done_at timestamptz,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, issue_id, key),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );

    CREATE TABLE escalation_chains (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      levels jsonb NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, project_id),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    );

    CREATE TABLE escalations (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      role text NOT NULL,
      member_id uuid,
      reason text NOT NULL,
      request text NOT NULL DEFAULT '',
      questions jsonb NOT NULL DEFAULT '[]',
      status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'answered', 'resolved')),
      level integer NOT NULL DEFAULT 0,
      ack_within_hours double precision NOT NULL,
      answer_within_hours double precision NOT NULL,
      ack_due_at timestamptz NOT NULL,
      answer_due_at timestamptz NOT NULL,
      paused_at timestamptz,
      paused_seconds double precision NOT NULL DEFAULT 0,
      acknowledged_at timestamptz,
      answered_at timestamptz,
      resolved_at timestamptz,
      breached_at timestamptz,
      answer text,
      activity_id uuid,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX escalations_issue_idx ON escalations (org_id, issue_id, id DESC);

    CREATE TABLE risks (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      severity text NOT NULL CHECK (severity IN ('high', 'medium', 'low')),
      title text NOT NULL,
      description text NOT NULL DEFAULT '',
      links jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'mitigated', 'closed')),
      mitigations jsonb NOT NULL DEFAULT '[]',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX risks_issue_idx ON risks (org_id, issue_id, id);

    CREATE TABLE checkpoints (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      title text NOT NULL,
      recurrence jsonb NOT NULL,
      owner_role text,
      time_zone text NOT NULL DEFAULT 'UTC',
      next_due_at timestamptz,
      last_due_at timestamptz,
      last_completed_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX checkpoints_issue_idx ON checkpoints (org_id, issue_id, id);

    CREATE TABLE notes (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      kind text NOT NULL,
      text text NOT NULL,
      author text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX notes_issue_idx ON notes (org_id, issue_id, id);

    CREATE TABLE communications (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid,
      channel text NOT NULL,
      external_id text,
      audience text NOT NULL,
      summary text NOT NULL,
      status text,
      ref_type text,
      ref_id text,
      recorded_by text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX communications_issue_idx ON communications (org_id, issue_id, id DESC);

    CREATE TABLE webhooks (
      org_id uuid NOT NULL REFERENCES orgs (id),
      id uuid NOT NULL,
      url text NOT NULL,
      events text[] NOT NULL,
      format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
      secret text NOT NULL,
      active boolean NOT NULL DEFAULT true,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, id)
    );

    CREATE TABLE webhook_deliveries (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      webhook_id uuid NOT NULL,
      event_type text NOT NULL,
      event_id text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      response_status integer,
      error text,
      created_at timestamptz NOT NULL,
      delivered_at timestamptz,
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, webhook_id, event_id),
      FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (org_id, webhook_id, id DESC);

    CREATE TABLE github_links (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      repo text NOT NULL,
      api_url text NOT NULL,
      token text NOT NULL,
      webhook_secret text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, project_id),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX github_links_repo_idx ON github_links (lower(repo));

    CREATE TABLE github_comments (
      org_id uuid NOT NULL,
      issue_id uuid NOT NULL,
      comment_id bigint NOT NULL,
      url text,
      content_hash text NOT NULL,
      synced_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, issue_id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id) ON DELETE CASCADE
    );
  `.execute(db);

  await isolateTenantTables(db, COORDINATION_TABLES);
}

export const COORDINATION_TABLES = [
  'activities',
  'escalation_chains',
  'escalations',
  'risks',
  'checkpoints',
  'notes',
  'communications',
  'webhooks',
  'webhook_deliveries',
  'github_links',
  'github_comments',
] as const;
