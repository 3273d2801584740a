import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ok } from '../api/client.ts';
import { ConfirmAction } from './confirm.tsx';
import { CopyButton } from './status.tsx';

/**
 * The README badge: its picture, the Markdown to paste, and rotating the project's
 * badge token (the old badges stop working). Only members who may edit the project are
 * given the token by the API; for everyone else this shows nothing.
 */
export function BadgeSnippet({
  org,
  project,
  number,
}: {
  org: string;
  project: string;
  number: number;
}) {
  const queryClient = useQueryClient();
  const key = ['org', org, 'project', project];
  const details = useQuery({
    queryKey: key,
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}', {
          params: { path: { org, project } },
        }),
      ),
  });
  const rotate = useMutation({
    mutationFn: async () =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/badge-token', {
          params: { path: { org, project } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: key, exact: true }),
  });
  const token = details.data?.badgeToken;
  if (token === undefined) return null;
  const path = `/api/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/issues/${number}/badge.svg`;
  const url = `${location.origin}${path}?token=${encodeURIComponent(token)}`;
  const page = `${location.origin}/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/issues/${number}`;
  const markdown = `[![Gatehouse: issue #${number}](${url})](${page})`;
  return (
    <section aria-labelledby="badge" className="card">
      <h2 id="badge">README badge</h2>
      <p>
        <img src={url} alt={`Badge of issue #${number}: its overall gate state`} height={20} />
      </p>
      <label htmlFor="badge-markdown">Markdown</label>
      <textarea id="badge-markdown" readOnly rows={2} value={markdown} />
      <p>
        <CopyButton text={markdown} label="Copy Markdown" />{' '}
        <ConfirmAction
          label="Rotate token"
          target={`of project ${project}`}
          title="Rotate the badge token?"
          confirm="Rotate token"
          action={() => rotate.mutateAsync()}
        >
          Every badge of this project that uses the current token stops showing; paste the new
          Markdown where you used the old one.
        </ConfirmAction>
      </p>
    </section>
  );
}
