import type { ReactNode } from 'react';

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <p className="muted" role="status">
      {label}…
    </p>
  );
}

/** An error as the user should read it; 404 (another org's page, or a missing one) says so plainly. */
export function ErrorView({ error }: { error: unknown }) {
  const e = error as { status?: number; message?: string } | null;
  if (e?.status === 404) {
    return (
      <section aria-labelledby="nf">
        <h1 id="nf">Not found</h1>
        <p>This page does not exist, or you do not have access to it.</p>
        <p>
          <a href="/">Back to your organizations</a>
        </p>
      </section>
    );
  }
  return (
    <p role="alert" className="error">
      {e?.message ?? 'Something went wrong.'}
    </p>
  );
}

/** Renders a query's data, or its loading or error state. */
export function Loaded<T>({
  query,
  children,
  label,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean };
  children: (data: T) => ReactNode;
  label?: string;
}) {
  if (query.error) return <ErrorView error={query.error} />;
  if (query.isPending || query.data === undefined) return <Loading {...(label ? { label } : {})} />;
  return <>{children(query.data)}</>;
}

/** passed, blocked or pending; other words are shown as they come. */
export type GateStateName = string;

const ICON: Record<string, string> = { passed: '✔', blocked: '✖', pending: '◔' };

/** A gate state as icon + text + colour: never colour alone. */
export function GateState({ state }: { state: GateStateName | null }) {
  const s = state ?? 'none';
  return (
    <span className={`state state-${s}`}>
      <span aria-hidden="true">{ICON[s] ?? '–'}</span> <span>{state ?? 'no runs yet'}</span>
    </span>
  );
}

export function pct(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** "in 3 h 20 min" / "4 h 5 min overdue" from a number of seconds. */
export function clock(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  const abs = Math.abs(seconds);
  const d = Math.floor(abs / 86400);
  const h = Math.floor((abs % 86400) / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const text = d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
  return seconds >= 0 ? `${text} left` : `${text} overdue`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function day(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleDateString() : '—';
}

/** Copies text to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  return (
    <button
      type="button"
      onClick={(e) => {
        const button = e.currentTarget;
        void navigator.clipboard.writeText(text).then(
          () => (button.textContent = 'Copied'),
          () => (button.textContent = 'Copy failed: select the text'),
        );
      }}
    >
      {label}
    </button>
  );
}
