import { useQuery, type QueryClient } from '@tanstack/react-query';
import {
  lazy,
  Suspense,
  useEffect,
  useState,
  useSyncExternalStore,
  type ComponentType,
  type ReactNode,
} from 'react';
import { isSignedIn, onSessionChange, refresh, signOut } from './api/auth.ts';
import { api, ok } from './api/client.ts';
import { prefetchIssue } from './api/issue.ts';
import { useOrgEvents } from './api/events.ts';
import { ErrorView, Loading } from './components/status.tsx';
import { Link, navigate, paths, useLocation } from './router.tsx';
import { SignIn, SignUp } from './pages/sign-in.tsx';
import { Home, NewOrg } from './pages/orgs.tsx';
import { AcceptInvitation } from './pages/accept-invitation.tsx';
import { OrgHome } from './pages/org-home.tsx';

/**
 * A page whose code is loaded on demand. Once `preload` has run, the page renders at once;
 * before that, through React.lazy (a Suspense fallback first). Which of the two is decided
 * once per mount, so a page is never remounted when its code arrives.
 */
function onDemand<P extends object>(load: () => Promise<{ default: ComponentType<P> }>) {
  let loaded: ComponentType<P> | null = null;
  let started: Promise<void> | null = null;
  const preload = () =>
    (started ??= load().then((m) => {
      loaded = m.default;
    }));
  const Lazy = lazy(async () => {
    await preload();
    return { default: loaded! };
  }) as unknown as ComponentType<P>;
  function Page(props: P) {
    const [Component] = useState(() => loaded ?? Lazy);
    return <Component {...props} />;
  }
  return { preload, Page };
}

const issuePage = onDemand(() => import('./pages/issue.tsx'));
const runPage = onDemand(() => import('./pages/run.tsx'));
const settingsPage = onDemand(() => import('./pages/settings.tsx'));
const IssuePage = issuePage.Page;
const RunPage = runPage.Page;
const SettingsPage = settingsPage.Page;

const PUBLIC = new Set(['/signin', '/signup']);

const ORG = /^\/orgs\/([^/]+)(\/.*)?$/;
const ISSUE = /^\/projects\/([^/]+)\/issues\/(\d+)$/;
const RUN = /^\/projects\/([^/]+)\/runs\/([^/]+)$/;

/**
 * Starts what the opened page needs while the session is restored, not after: the page's
 * code, and for an issue its gates, the issue and its report (as soon as the session is). The
 * session counts as ready once the code is there too, so the page renders without a
 * Suspense fallback, which React would keep on screen for at least 300 ms.
 */
export function startFirstPage(client: QueryClient): Promise<unknown> {
  const m = ORG.exec(location.pathname);
  const rest = m?.[2] ?? '';
  const issue = ISSUE.exec(rest);
  if (m?.[1] !== undefined && issue !== null) {
    const props = {
      org: decodeURIComponent(m[1]),
      project: decodeURIComponent(issue[1] ?? ''),
      number: Number(issue[2]),
    };
    // Only with a session: a signed-out visitor's 401s would be cached for after sign-in.
    refresh().then(
      () => prefetchIssue(client, props),
      () => undefined,
    );
    return issuePage.preload();
  }
  if (RUN.test(rest)) return runPage.preload();
  if (rest === '/settings') return settingsPage.preload();
  return Promise.resolve();
}

function useSignedIn(): boolean {
  return useSyncExternalStore(onSessionChange, isSignedIn);
}

/**
 * Tries the refresh cookie once on load (a reload keeps the user signed in), while the
 * opened page's code (`firstPage`) loads.
 */
function useRestoredSession(firstPage: Promise<unknown>): boolean {
  const [ready, setReady] = useState(isSignedIn());
  useEffect(() => {
    if (ready) return;
    void Promise.all([refresh().catch(() => undefined), firstPage.catch(() => undefined)]).then(
      () => setReady(true),
    );
  }, [ready, firstPage]);
  return ready;
}

export function App({ firstPage }: { firstPage: Promise<unknown> }) {
  const url = useLocation();
  const ready = useRestoredSession(firstPage);
  const signedIn = useSignedIn();
  const path = url.pathname;

  useEffect(() => {
    if (!ready || signedIn || PUBLIC.has(path)) return;
    const next = path === '/invitations/accept' ? path : path + url.search;
    navigate(`/signin?next=${encodeURIComponent(next)}`, { replace: true });
  }, [ready, signedIn, path, url.search]);

  if (!ready) return <Loading label="Starting" />;
  if (path === '/signin') return <SignIn />;
  if (path === '/signup') return <SignUp />;
  if (!signedIn) return <Loading label="Redirecting to sign in" />;
  return <SignedIn path={path} />;
}

function SignedIn({ path }: { path: string }) {
  const m = ORG.exec(path);
  const org = m?.[1] === undefined ? null : decodeURIComponent(m[1]);
  const rest = m?.[2] ?? '';
  let page: ReactNode;
  if (path === '/' || path === '/orgs') page = <Home />;
  else if (path === '/orgs/new') page = <NewOrg />;
  else if (path === '/invitations/accept') page = <AcceptInvitation />;
  else if (org !== null && (rest === '' || rest === '/')) page = <OrgHome org={org} />;
  else if (org !== null && rest === '/settings') page = <SettingsPage org={org} />;
  else if (org !== null && ISSUE.test(rest)) {
    const [, project = '', n = '0'] = ISSUE.exec(rest)!;
    page = <IssuePage org={org} project={decodeURIComponent(project)} number={Number(n)} />;
  } else if (org !== null && RUN.test(rest)) {
    const [, project = '', runId = ''] = RUN.exec(rest)!;
    page = (
      <RunPage org={org} project={decodeURIComponent(project)} runId={decodeURIComponent(runId)} />
    );
  } else page = <ErrorView error={{ status: 404, message: 'No page here.' }} />;
  return (
    <Shell org={org}>
      <Suspense fallback={<Loading label="Loading page" />}>{page}</Suspense>
    </Shell>
  );
}

function Shell({ org, children }: { org: string | null; children: ReactNode }) {
  const live = useOrgEvents(org);
  const me = useQuery({ queryKey: ['me'], queryFn: async () => ok(await api.GET('/api/v1/me')) });
  const memberships = me.data?.memberships ?? [];
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Gatehouse
        </Link>
        <nav aria-label="Main">
          {org !== null && <Link href={paths.org(org)}>Overview</Link>}
          {org !== null && <Link href={paths.settings(org)}>Settings</Link>}
          <label className="inline">
            Organization{' '}
            <select
              value={org ?? ''}
              onChange={(e) =>
                navigate(e.target.value === '+' ? '/orgs/new' : paths.org(e.target.value))
              }
            >
              {org === null && <option value="">Choose…</option>}
              {memberships.map((m) => (
                <option key={m.org.id} value={m.org.slug}>
                  {m.org.name}
                </option>
              ))}
              {org !== null && !memberships.some((m) => m.org.slug === org) && (
                <option value={org}>{org}</option>
              )}
              <option value="+">New organization…</option>
            </select>
          </label>
          <span className="muted">{me.data?.user.email}</span>
          <button
            type="button"
            onClick={() => {
              void signOut().then(() => navigate('/signin'));
            }}
          >
            Sign out
          </button>
        </nav>
      </header>
      <p className="live" role="status" aria-live="polite">
        {live}
      </p>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
