import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../app-role.ts';
import { ENTER_FUNCTIONS } from './0001_foundation.ts';

/**
 * The tenant door as one statement that either lets the caller in or raises: the caller's
 * live state, the org, the caller's org claim and the permission are all checked in
 * PostgreSQL, and a refusal is an error (SQLSTATE class GA, src/db/tenant.ts maps it to
 * 401/403/404 with the same answers as before). app_enter_as_user/_token (0001) returned a
 * status that Node checked before it sent anything else; a door that raises instead lets a
 * read be sent behind it in the same round trip (src/db/pipeline.ts): when the door
 * refuses, PostgreSQL skips everything up to the Sync, so the read never runs.
 *
 * - GA401: the session or token is not live (revoked, expired, unknown).
 * - GA404: no such org, or the caller is not in it.
 * - GA409: the user's access token is scoped to another org than the one asked for
 *   (answered as a 404 that says how to switch orgs).
 * - GA403: the caller's role is not among p_roles; DETAIL is the role.
 *
 * `app.org_id` is set only once every check passed. A token's last use is recorded to the
 * minute (one write a minute per token); a row another transaction is writing (an upload
 * with the same token) is skipped rather than waited for.
 */
const DOOR_FUNCTIONS = `
  CREATE FUNCTION app_door_as_user(p_user uuid, p_session uuid, p_slug text, p_org uuid,
    p_roles text[])
  RETURNS TABLE (org_id uuid, role text, actor_id uuid) LANGUAGE plpgsql AS $fn$
  DECLARE v_org uuid; v_role text;
  BEGIN
    PERFORM set_config('role', '${APP_ROLE}', true);
    PERFORM set_config('app.user_id', p_user::text, true);
    PERFORM set_config('app.org_id', '', true);
    PERFORM 1 FROM sessions s
      WHERE s.id = p_session AND s.user_id = p_user AND s.revoked_at IS NULL AND s.expires_at > now();
    IF NOT FOUND THEN
      RAISE EXCEPTION 'session ended' USING ERRCODE = 'GA401';
    END IF;
    SELECT o.id, m.role INTO v_org, v_role
      FROM orgs o JOIN memberships m ON m.org_id = o.id AND m.user_id = p_user
      WHERE o.slug = p_slug AND o.deleted_at IS NULL;
    IF v_org IS NULL THEN
      RAISE EXCEPTION 'organization not found' USING ERRCODE = 'GA404';
    END IF;
    IF p_org IS DISTINCT FROM v_org THEN
      RAISE EXCEPTION 'access token scoped to another organization' USING ERRCODE = 'GA409';
    END IF;
    IF NOT v_role = ANY (p_roles) THEN
      RAISE EXCEPTION 'permission denied' USING ERRCODE = 'GA403', DETAIL = v_role;
    END IF;
    PERFORM set_config('app.org_id', v_org::text, true);
    RETURN QUERY SELECT v_org, v_role, p_user;
  END $fn$;

  CREATE FUNCTION app_door_as_token(p_org uuid, p_hash bytea, p_slug text, p_roles text[])
  RETURNS TABLE (org_id uuid, role text, actor_id uuid) LANGUAGE plpgsql AS $fn$
  DECLARE v_id uuid; v_role text; v_used timestamptz;
  BEGIN
    PERFORM set_config('role', '${APP_ROLE}', true);
    PERFORM set_config('app.user_id', '', true);
    -- api_tokens is a tenant table: its row shows only inside the org it claims.
    PERFORM set_config('app.org_id', p_org::text, true);
    SELECT t.id, t.role, t.last_used_at INTO v_id, v_role, v_used FROM api_tokens t
      WHERE t.org_id = p_org AND t.token_hash = p_hash AND t.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now());
    IF v_id IS NULL THEN
      RAISE EXCEPTION 'token not live' USING ERRCODE = 'GA401';
    END IF;
    PERFORM 1 FROM orgs o WHERE o.id = p_org AND o.slug = p_slug AND o.deleted_at IS NULL;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'organization not found' USING ERRCODE = 'GA404';
    END IF;
    IF NOT v_role = ANY (p_roles) THEN
      RAISE EXCEPTION 'permission denied' USING ERRCODE = 'GA403', DETAIL = v_role;
    END IF;
    IF v_used IS NULL OR v_used < now() - interval '1 minute' THEN
      UPDATE api_tokens SET last_used_at = now()
      WHERE api_tokens.org_id = p_org AND api_tokens.id = (
        SELECT t.id FROM api_tokens t WHERE t.org_id = p_org AND t.id = v_id
        FOR NO KEY UPDATE SKIP LOCKED);
    END IF;
    RETURN QUERY SELECT p_org, v_role, v_id;
  END $fn$;`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(DOOR_FUNCTIONS).execute(db);
  await sql`
    DROP FUNCTION app_enter_as_user(uuid, uuid, text);
    DROP FUNCTION app_enter_as_token(uuid, bytea, text);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(ENTER_FUNCTIONS).execute(db);
  await sql`
    DROP FUNCTION app_door_as_user(uuid, uuid, text, uuid, text[]);
    DROP FUNCTION app_door_as_token(uuid, bytea, text, text[]);
  `.execute(db);
}
