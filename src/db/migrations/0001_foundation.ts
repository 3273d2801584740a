import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../app-role.ts';

// The foundation's tenant tables; later migrations add their own (see tenant-tables.ts).
const TENANT_TABLES = ['memberships', 'invitations', 'api_tokens', 'audit_events'] as const;

// Entering a tenant in one statement: switch to the app role, pin the caller, check live
// state, pin the org. plpgsql caches the plans of its queries per connection, so the
// per-request authorization is not re-planned every time (planning under RLS costs
// more than running these index lookups).
// (Replaced by app_door_as_user/app_door_as_token in 0019_tenant_door; its down restores these.)
export const ENTER_FUNCTIONS = `CREATE FUNCTION app_enter_as_user(p_user uuid, p_session uuid, p_slug text)
  RETURNS TABLE (status text, org_id uuid, role text) LANGUAGE plpgsql AS $fn$
  DECLARE v_org uuid; v_role text;
  BEGIN
    PERFORM set_config('role', '${APP_ROLE}', true);
    PERFORM set_config('app.user_id', p_user::text, true);
    PERFORM set_config('app.org_id', '', true);
    PERFORM 1 FROM sessions s
      WHERE s.id = p_session AND s.user_id = p_user AND s.revoked_at IS NULL AND s.expires_at > now();
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'unauthenticated'::text, NULL::uuid, NULL::text; RETURN;
    END IF;
    SELECT o.id, m.role INTO v_org, v_role
      FROM orgs o JOIN memberships m ON m.org_id = o.id AND m.user_id = p_user
      WHERE o.slug = p_slug AND o.deleted_at IS NULL;
    IF v_org IS NULL THEN
      RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text; RETURN;
    END IF;
    PERFORM set_config('app.org_id', v_org::text, true);
    RETURN QUERY SELECT 'ok'::text, v_org, v_role;
  END $fn$;

  CREATE FUNCTION app_enter_as_token(p_org uuid, p_hash bytea, p_slug text)
  RETURNS TABLE (status text, token_id uuid, role text, last_used_at timestamptz)
  LANGUAGE plpgsql AS $fn$
  DECLARE v_id uuid; v_role text; v_used timestamptz;
  BEGIN
    PERFORM set_config('role', '${APP_ROLE}', true);
    PERFORM set_config('app.user_id', '', true);
    PERFORM set_config('app.org_id', p_org::text, true);
    SELECT t.id, t.role, t.last_used_at INTO v_id, v_role, v_used FROM api_tokens t
      WHERE t.org_id = p_org AND t.token_hash = p_hash AND t.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now());
    IF v_id IS NULL THEN
      RETURN QUERY SELECT 'unauthenticated'::text, NULL::uuid, NULL::text, NULL::timestamptz; RETURN;
    END IF;
    PERFORM 1 FROM orgs o WHERE o.id = p_org AND o.slug = p_slug AND o.deleted_at IS NULL;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text, NULL::timestamptz; RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_id, v_role, v_used;
  END $fn$;`;

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

  await sql.raw(ENTER_FUNCTIONS).execute(db);

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
