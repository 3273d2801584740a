import { field } from '../lib/form.ts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { adoptPair } from '../api/auth.ts';
import { api, ok } from '../api/client.ts';
import { Loaded } from '../components/status.tsx';
import { Link, navigate, paths } from '../router.tsx';

/** `/`: the user's organizations; straight into the only one. */
export function Home() {
  const orgs = useQuery({
    queryKey: ['orgs'],
    queryFn: async () => ok(await api.GET('/api/v1/orgs', { params: { query: { limit: 100 } } })),
  });
  const only = orgs.data?.items.length === 1 ? orgs.data.items[0] : undefined;
  useEffect(() => {
    if (only !== undefined) navigate(paths.org(only.slug), { replace: true });
  }, [only]);
  return (
    <>
      <h1>Your organizations</h1>
      <Loaded query={orgs}>
        {(data) =>
          data.items.length === 0 ? (
            <p>You are not a member of any organization yet.</p>
          ) : (
            <ul>
              {data.items.map((o) => (
                <li key={o.id}>
                  <Link href={paths.org(o.slug)}>{o.name}</Link>{' '}
                  <span className="muted">({o.role})</span>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <NewOrgForm />
    </>
  );
}

export function NewOrg() {
  return (
    <>
      <h1>New organization</h1>
      <NewOrgForm />
    </>
  );
}

function NewOrgForm() {
  const client = useQueryClient();
  const [slug, setSlug] = useState('');
  const create = useMutation({
    mutationFn: async (body: { name: string; slug: string }) =>
      ok(await api.POST('/api/v1/orgs', { body })),
    onSuccess: async (org) => {
      await adoptPair(org, org.slug);
      await client.invalidateQueries({ queryKey: ['me'] });
      await client.invalidateQueries({ queryKey: ['orgs'] });
      navigate(paths.org(org.slug));
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: field(f, 'name'), slug: field(f, 'slug') });
  };
  return (
    <form onSubmit={submit} className="stack card" aria-labelledby="new-org">
      <h2 id="new-org">Create an organization</h2>
      <label>
        Organization name
        <input
          name="name"
          required
          maxLength={200}
          onChange={(e) =>
            setSlug(
              e.target.value
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, '-')
                .replace(/^-+|-+$/g, ''),
            )
          }
        />
      </label>
      <label>
        Slug (in URLs)
        <input
          name="slug"
          required
          value={slug}
          onChange={(e) => setSlug(e.target.value)}
          pattern="[a-z0-9][a-z0-9-]*"
        />
      </label>
      {create.error && (
        <p role="alert" className="error">
          {create.error.message}
        </p>
      )}
      <button type="submit" disabled={create.isPending}>
        Create organization
      </button>
    </form>
  );
}
