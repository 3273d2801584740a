import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/**
 * What the dashboard (issue 13) stores: each project's badge token, a read-only capability
 * for that project's issue badges (kept as a hash to look it up and sealed with the
 * secret-at-rest key so editors can read it again), and the one-time tickets that open a
 * live event stream where no Authorization header can be sent. Both tables are tenant
 * tables like any other: org_id first in every key, row-level security forced.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE project_badges (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      token_hash bytea NOT NULL,
      token_sealed text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, project_id),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    );

    CREATE TABLE event_tickets (
      org_id uuid NOT NULL,
      ticket_hash bytea NOT NULL,
      user_id uuid NOT NULL,
      session_id uuid NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, ticket_hash),
      FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE
    );
    CREATE INDEX event_tickets_expiry ON event_tickets (org_id, expires_at);
  `.execute(db);

  await isolateTenantTables(db, WEB_TABLES);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS event_tickets; DROP TABLE IF EXISTS project_badges;`.execute(db);
}

export const WEB_TABLES = ['project_badges', 'event_tickets'] as const;
