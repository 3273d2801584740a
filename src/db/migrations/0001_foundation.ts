import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../app-role.ts';

/** Tenant tables: org_id first in every key, RLS enabled and forced. */
export const TENANT_TABLES = ['memberships', 'invitations', 'api_tokens', 'audit_events'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // Roles are cluster-wide; several databases (or processes) may race to create it.
  await sql
    .raw(
      `DO $$ BEGIN
         CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    )
    .execute(db);
  await sql
    .raw(
      `DO $$ BEGIN
         EXECUTE format('GRANT ${APP_ROLE} TO %I', current_user);
       EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL; END $$`,
    )
    .execute(db);

  await sql`
    CREATE FUNCTION app_org_id() RETURNS uuid LANGUAGE sql STABLE
      AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;
    CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE
      AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

    CREATE TABLE users (
      id uuid PRIMARY KEY,
      email text NOT NULL,
      name text NOT NULL,
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_key ON users (lower(email));

    CREATE TABLE orgs (
      id uuid PRIMARY KEY,
      slug text NOT NULL,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE UNIQUE INDEX orgs_slug_live_key ON orgs (slug) WHERE deleted_at IS NULL;

    CREATE TABLE memberships (
      org_id uuid NOT NULL REFERENCES orgs (id),
      user_id uuid NOT NULL REFERENCES users (id),
      role text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, user_id)
    );
    CREATE INDEX memberships_user_idx ON memberships (user_id);

    CREATE TABLE invitations (
      org_id uuid NOT NULL REFERENCES orgs (id),
      id uuid NOT NULL,
      email text NOT NULL,
      role text NOT NULL,
      token_hash bytea NOT NULL,
      invited_by uuid NOT NULL REFERENCES users (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz,
      accepted_by uuid REFERENCES users (id),
      revoked_at timestamptz,
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, token_hash)
    );
    CREATE INDEX invitations_invited_by_idx ON invitations (invited_by);
    CREATE INDEX invitations_accepted_by_idx ON invitations (accepted_by);

    CREATE TABLE api_tokens (
      org_id uuid NOT NULL REFERENCES orgs (id),
      id uuid NOT NULL,
      name text NOT NULL,
      role text NOT NULL,
      token_hash bytea NOT NULL,
      created_by uuid NOT NULL REFERENCES users (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz,
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, token_hash)
    );
    CREATE INDEX api_tokens_created_by_idx ON api_tokens (created_by);

    CREATE TABLE audit_events (
      org_id uuid NOT NULL REFERENCES orgs (id),
      id uuid NOT NULL,
      actor_type text NOT NULL,
      actor_id uuid NOT NULL,
      action text NOT NULL,
      target_type text NOT NULL,
      target_id text,
      data jsonb NOT NULL DEFAULT '{}',
      request_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id)
    );

    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id),
      scope_org_id uuid REFERENCES orgs (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz NOT NULL DEFAULT now(),
      idle_expires_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_reason text
    );
    CREATE INDEX sessions_user_idx ON sessions (user_id);
    CREATE INDEX sessions_scope_org_idx ON sessions (scope_org_id);

    CREATE TABLE refresh_tokens (
      token_hash bytea PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      used_at timestamptz
    );
    CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      public_jwk jsonb NOT NULL,
      private_enc text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE login_throttle (
      email text PRIMARY KEY,
      failures integer NOT NULL,
      window_started_at timestamptz NOT NULL
    );
  `.execute(db);

  await sql
    .raw(
      `GRANT SELECT, INSERT, UPDATE ON users, orgs, sessions, refresh_tokens, login_throttle TO ${APP_ROLE};
       GRANT DELETE ON login_throttle TO ${APP_ROLE};
       GRANT SELECT ON signing_keys TO ${APP_ROLE};
       GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, invitations, api_tokens TO ${APP_ROLE};
       GRANT SELECT, INSERT ON audit_events TO ${APP_ROLE};
       GRANT EXECUTE ON FUNCTION app_org_id(), app_user_id() TO ${APP_ROLE};`,
    )
    .execute(db);

  for (const table of TENANT_TABLES) {
    await sql
      .raw(
        `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;`,
      )
      .execute(db);
  }
  // A member may see their own memberships in every org (to list "my orgs");
  // everything else is visible only inside the transaction's org.
  await sql`
    CREATE POLICY own_memberships ON memberships FOR SELECT
      USING (org_id = app_org_id() OR user_id = app_user_id());
    CREATE POLICY tenant_isolation_insert ON memberships FOR INSERT
      WITH CHECK (org_id = app_org_id());
    CREATE POLICY tenant_isolation_update ON memberships FOR UPDATE
      USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
    CREATE POLICY tenant_isolation_delete ON memberships FOR DELETE
      USING (org_id = app_org_id());
    CREATE POLICY tenant_isolation ON invitations
      USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
    CREATE POLICY tenant_isolation ON api_tokens
      USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
    CREATE POLICY tenant_isolation ON audit_events
      USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
  `.execute(db);
}
