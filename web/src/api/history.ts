import { optional } from './client.ts';

/** The history routes (tests, trends, quarantine) may be absent on a server: every field is
 *  read defensively and a 404 hides the widget. */
export interface TestRow {
  id: string;
  classname: string;
  name: string;
  failureRate: number | null;
  flipRate: number | null;
  flaky: boolean;
  quarantined: boolean;
}

type Loose = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const num = (v: unknown) => (typeof v === 'number' ? v : null);

export function toTestRow(t: Loose): TestRow {
  return {
    id: str(t.id ?? t.testId),
    classname: str(t.classname),
    name: str(t.name ?? t.test),
    failureRate: num(t.failureRate),
    flipRate: num(t.flipRate),
    flaky: t.flaky === true,
    quarantined:
      t.quarantined === true || (typeof t.quarantined === 'object' && t.quarantined !== null),
  };
}

const base = (org: string, project: string) =>
  `/api/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}`;

export async function projectTests(org: string, project: string): Promise<TestRow[] | null> {
  const r = await optional<{ items?: Loose[] }>(`${base(org, project)}/tests?limit=200`);
  return r === null ? null : (r.items ?? []).map(toTestRow);
}

export interface HistoryEntry {
  runId: string;
  status: string;
  durationMs: number | null;
  at: string;
}

export async function testHistory(
  org: string,
  project: string,
  testId: string,
): Promise<HistoryEntry[] | null> {
  const r = await optional<{ items?: Loose[]; history?: Loose[]; runs?: Loose[] }>(
    `${base(org, project)}/tests/${encodeURIComponent(testId)}/history`,
  );
  if (r === null) return null;
  const entries = (r.items ?? r.history ?? r.runs ?? []).map((e) => ({
    runId: str(e.runId ?? e.run),
    status: str(e.status),
    durationMs: num(e.durationMs),
    at: str(e.at ?? e.createdAt ?? e.completedAt),
  }));
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}
