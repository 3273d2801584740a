import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../app-role.ts';

/** Owns app_github_links_for_repo: cannot log in, owns no table, reads three columns of one. */
export const GITHUB_LOOKUP_ROLE = 'gatehouse_github_lookup';

/**
 * GitHub's webhook names a repository, not an org: finding the projects linked to it is a
 * look across tenants. As with the sweep's app_claim_due_work, that one look is a
 * SECURITY DEFINER function owned by a role of its own, which may read only the org, project
 * and repository name of github_links (no token, no webhook secret) and has no other
 * policy. Everything after it (the secret, the signature, the change) happens inside each
 * org through the system door, under row-level security as usual.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `DO $$ BEGIN
         CREATE ROLE ${GITHUB_LOOKUP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
       DO $$ BEGIN
         EXECUTE format('GRANT ${GITHUB_LOOKUP_ROLE} TO %I', current_user);
       EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL; END $$;`,
    )
    .execute(db);
  await sql
    .raw(
      `GRANT SELECT (org_id, project_id, repo) ON github_links TO ${GITHUB_LOOKUP_ROLE};
       CREATE POLICY github_repo_lookup ON github_links FOR SELECT TO ${GITHUB_LOOKUP_ROLE}
         USING (true);

       -- The projects (at most 20) linked to a repository, by its owner/name in any case.
       CREATE FUNCTION app_github_links_for_repo(p_repo text)
       RETURNS TABLE (org_id uuid, project_id uuid)
       LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
         SELECT l.org_id, l.project_id FROM github_links l
         WHERE lower(l.repo) = lower(p_repo)
         ORDER BY l.org_id, l.project_id
         LIMIT 20
       $fn$;
       REVOKE ALL ON FUNCTION app_github_links_for_repo(text) FROM PUBLIC;
       GRANT EXECUTE ON FUNCTION app_github_links_for_repo(text) TO ${APP_ROLE};
       -- Changing a function's owner needs CREATE on its schema for the new owner, only then.
       GRANT CREATE ON SCHEMA public TO ${GITHUB_LOOKUP_ROLE};
       ALTER FUNCTION app_github_links_for_repo(text) OWNER TO ${GITHUB_LOOKUP_ROLE};
       REVOKE CREATE ON SCHEMA public FROM ${GITHUB_LOOKUP_ROLE};`,
    )
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `DROP FUNCTION IF EXISTS app_github_links_for_repo(text);
       DROP POLICY IF EXISTS github_repo_lookup ON github_links;
       REVOKE ALL ON github_links FROM ${GITHUB_LOOKUP_ROLE};`,
    )
    .execute(db);
}
