import { field } from '../lib/form.ts';
import { useState, type FormEvent } from 'react';
import { signIn, signUp } from '../api/auth.ts';
import { Link, navigate, useLocation } from '../router.tsx';

/** The org of the page the user is going to: the sign-in is scoped to it from the start. */
function nextOrg(url: URL): string | undefined {
  const m = /^\/orgs\/([a-z0-9-]+)(?:\/|$)/.exec(nextPath(url));
  return m?.[1] === undefined || m[1] === 'new' ? undefined : m[1];
}

function nextPath(url: URL): string {
  const next = url.searchParams.get('next');
  // Only our own paths: never an open redirect.
  return next !== null && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignIn() {
  const url = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    signIn(field(form, 'email'), field(form, 'password'), nextOrg(url))
      .catch((err: unknown) => {
        // Not a member of that org (or no such org): sign in unscoped, the page will say so.
        if ((err as { status?: number }).status === 404)
          return signIn(field(form, 'email'), field(form, 'password'));
        throw err;
      })
      .then(() => navigate(nextPath(url), { replace: true }))
      .catch((err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return (
    <main id="main" className="narrow">
      <h1>Sign in to Gatehouse</h1>
      <form onSubmit={submit} className="stack">
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here? <Link href={`/signup${url.search}`}>Create an account</Link>
      </p>
    </main>
  );
}

export function SignUp() {
  const url = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    signUp(field(form, 'email'), field(form, 'password'), field(form, 'name'))
      .then(() => navigate(nextPath(url), { replace: true }))
      .catch((err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return (
    <main id="main" className="narrow">
      <h1>Create your Gatehouse account</h1>
      <form onSubmit={submit} className="stack">
        <label>
          Name
          <input name="name" autoComplete="name" required maxLength={200} />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
          />
        </label>
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign up
        </button>
      </form>
      <p>
        Have an account? <Link href={`/signin${url.search}`}>Sign in</Link>
      </p>
    </main>
  );
}
