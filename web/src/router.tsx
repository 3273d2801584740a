import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** A tiny history router: the app has a handful of stable URLs and needs nothing more. */
const subscribers = new Set<() => void>();

function subscribe(fn: () => void): () => void {
  subscribers.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    subscribers.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

const snapshot = () => location.pathname + location.search + location.hash;

export function useLocation(): URL {
  const href = useSyncExternalStore(subscribe, snapshot);
  return new URL(href, location.origin);
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace === true) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const fn of subscribers) fn();
  window.scrollTo(0, 0);
  // As a page load would: keyboard and screen-reader users start at the new page's content.
  requestAnimationFrame(() => document.getElementById('main')?.focus({ preventScroll: true }));
}

export function Link({
  href,
  onClick,
  ...rest
}: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}

/** Path segments for the app's URLs, encoded. */
export const paths = {
  org: (org: string) => `/orgs/${encodeURIComponent(org)}`,
  settings: (org: string) => `/orgs/${encodeURIComponent(org)}/settings`,
  issue: (org: string, project: string, n: number) =>
    `/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/issues/${n}`,
  run: (org: string, project: string, runId: string) =>
    `/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/runs/${encodeURIComponent(runId)}`,
};
