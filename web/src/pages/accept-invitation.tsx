import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client.ts';
import { navigate, paths } from '../router.tsx';

const KEY = 'gatehouse.invitation';

/**
 * `/invitations/accept#token=…`: the token is read from the hash (never sent to the server in
 * a URL), kept in this tab's session storage across a sign-in, and posted in a body.
 */
function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash !== null) {
    sessionStorage.setItem(KEY, fromHash);
    history.replaceState(null, '', location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem(KEY);
}

// Read before the sign-in redirect drops the hash.
if (location.pathname === '/invitations/accept') takeToken();

export function AcceptInvitation() {
  const [token] = useState(takeToken);
  const client = useQueryClient();
  const accept = useMutation({
    mutationFn: async (t: string) =>
      ok(await api.POST('/api/v1/invitations/accept', { body: { token: t } })),
    onSuccess: async (r) => {
      sessionStorage.removeItem(KEY);
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate(paths.org(r.org.slug));
    },
  });
  if (token === null)
    return <p role="alert">This invitation link has no token. Ask for a new link.</p>;
  return (
    <>
      <h1>Accept invitation</h1>
      <p>You were invited to join an organization on Gatehouse.</p>
      {accept.error && (
        <p role="alert" className="error">
          {accept.error.message}
        </p>
      )}
      <button type="button" onClick={() => accept.mutate(token)} disabled={accept.isPending}>
        Accept invitation
      </button>
    </>
  );
}
