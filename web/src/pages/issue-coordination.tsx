import { field } from '../lib/form.ts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, ok } from '../api/client.ts';
import { clock, Loaded, when } from '../components/status.tsx';
import { issueKey, issuePath, type IssueProps } from '../api/issue.ts';
import { useDownloadReport, useInvalidateIssue } from './issue.tsx';

const ROLES = ['owner', 'admin', 'qa_lead', 'architect', 'developer', 'reviewer'] as const;
type Role = (typeof ROLES)[number];
const NOTE_KINDS = ['lesson', 'decision', 'process', 'status', 'priority', 'other'] as const;
type NoteKind = (typeof NOTE_KINDS)[number];
const VERDICTS = ['pass', 'conditional_pass', 'fail'] as const;
type Verdict = (typeof VERDICTS)[number];

function ErrorLine({ error }: { error: Error | null }) {
  return error ? (
    <p role="alert" className="error">
      {error.message}
    </p>
  ) : null;
}

/** A disclosure holding one action's form; closes itself once the action succeeded. */
function Action({
  title,
  children,
}: {
  title: string;
  children: (close: () => void) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)} className="action">
      <summary>{title}</summary>
      {open && children(() => setOpen(false))}
    </details>
  );
}

export function IssueActions(props: IssueProps) {
  const invalidate = useInvalidateIssue(props);
  const { download, error: downloadError } = useDownloadReport(props);
  const sync = useMutation({
    mutationFn: async () =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/issues/{number}/github-sync', {
          params: issuePath(props),
        }),
      ),
  });
  const review = useMutation({
    mutationFn: async (body: { verdict: Verdict; notes?: string }) =>
      ok(
        await api.PUT('/api/v1/orgs/{org}/projects/{project}/issues/{number}/review', {
          params: issuePath(props),
          body,
        }),
      ),
    onSuccess: () => invalidate(),
  });
  const note = useMutation({
    mutationFn: async (body: { kind: NoteKind; text: string }) =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/issues/{number}/notes', {
          params: issuePath(props),
          body,
        }),
      ),
    onSuccess: () => invalidate(),
  });
  return (
    <section aria-label="Actions" className="actions">
      <button type="button" onClick={() => void download()}>
        Download report
      </button>
      <button type="button" onClick={() => sync.mutate()} disabled={sync.isPending}>
        Sync to GitHub
      </button>
      {sync.isSuccess && <span role="status">GitHub sync queued.</span>}
      <ErrorLine error={sync.error} />
      {downloadError && (
        <p role="alert" className="error">
          {downloadError}
        </p>
      )}
      <Action title="Record a review">
        {(close) => (
          <form
            className="stack"
            onSubmit={(e: FormEvent<HTMLFormElement>) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget);
              const notes = field(f, 'notes');
              review.mutate(
                { verdict: field(f, 'verdict') as Verdict, ...(notes ? { notes } : {}) },
                { onSuccess: close },
              );
            }}
          >
            <label>
              Verdict
              <select name="verdict">
                {VERDICTS.map((v) => (
                  <option key={v} value={v}>
                    {v.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Review notes
              <textarea name="notes" maxLength={4000} />
            </label>
            <ErrorLine error={review.error} />
            <button type="submit">Save review</button>
          </form>
        )}
      </Action>
      <Action title="Add a note">
        {(close) => (
          <form
            className="stack"
            onSubmit={(e: FormEvent<HTMLFormElement>) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget);
              note.mutate(
                { kind: field(f, 'kind') as NoteKind, text: field(f, 'text') },
                { onSuccess: close },
              );
            }}
          >
            <label>
              Kind
              <select name="kind">
                {NOTE_KINDS.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            <label>
              Note
              <textarea name="text" required maxLength={4000} />
            </label>
            <ErrorLine error={note.error} />
            <button type="submit">Add note</button>
          </form>
        )}
      </Action>
    </section>
  );
}

export function Escalations(props: IssueProps) {
  const invalidate = useInvalidateIssue(props);
  const list = useQuery({
    queryKey: issueKey(props, 'escalations'),
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/escalations', {
          params: { ...issuePath(props), query: { limit: 200 } },
        }),
      ),
  });
  const escalate = useMutation({
    mutationFn: async (body: {
      role: Role;
      reason: string;
      request: string;
      questions: { topic: string; text: string }[];
    }) =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/issues/{number}/escalations', {
          params: issuePath(props),
          body,
        }),
      ),
    onSuccess: () => invalidate(),
  });
  return (
    <section aria-labelledby="escalations" className="card">
      <h2 id="escalations">Escalations</h2>
      <Loaded query={list} label="Loading escalations">
        {(data) =>
          data.items.length === 0 ? (
            <p>No escalations.</p>
          ) : (
            <ul className="plain">
              {data.items.map((e) => (
                <li key={e.id} className="escalation">
                  <strong>
                    To {e.role.replace(/_/g, ' ')} (level {e.level}): {e.reason}
                  </strong>{' '}
                  <span className={e.breachedAt ? 'state state-blocked' : 'state'}>{e.status}</span>
                  <p>{e.request}</p>
                  {e.resolvedAt === null && (
                    <p>
                      {e.acknowledgedAt === null
                        ? `Acknowledge by ${when(e.ackDueAt)} (${clock(e.remaining.ackSeconds)})`
                        : `Answer by ${when(e.answerDueAt)} (${clock(e.remaining.answerSeconds)})`}
                      {e.paused ? '; paused' : ''}
                      {e.breachedAt ? '; breached' : ''}
                    </p>
                  )}
                  {e.questions.length > 0 && (
                    <ol>
                      {e.questions.map((q, i) => (
                        <li key={i}>
                          <em>{q.topic}:</em> {q.text}
                        </li>
                      ))}
                    </ol>
                  )}
                  {e.answer && <p>Answer: {e.answer}</p>}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <Action title="Escalate">
        {(close) => (
          <form
            className="stack"
            onSubmit={(e: FormEvent<HTMLFormElement>) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget);
              const question = field(f, 'question').trim();
              escalate.mutate(
                {
                  role: field(f, 'role') as Role,
                  reason: field(f, 'reason'),
                  request: field(f, 'request'),
                  questions: question
                    ? [{ topic: field(f, 'topic') || 'Question', text: question }]
                    : [],
                },
                { onSuccess: close },
              );
            }}
          >
            <label>
              Escalate to role
              <select name="role" defaultValue="architect">
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Reason
              <input name="reason" required maxLength={500} />
            </label>
            <label>
              Request
              <textarea name="request" required maxLength={4000} />
            </label>
            <label>
              Question topic
              <input name="topic" maxLength={200} />
            </label>
            <label>
              Question
              <textarea name="question" maxLength={2000} />
            </label>
            <ErrorLine error={escalate.error} />
            <button type="submit">Send escalation</button>
          </form>
        )}
      </Action>
    </section>
  );
}

export function Risks(props: IssueProps) {
  const invalidate = useInvalidateIssue(props);
  const list = useQuery({
    queryKey: issueKey(props, 'risks'),
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/risks', {
          params: { ...issuePath(props), query: { limit: 200 } },
        }),
      ),
  });
  const add = useMutation({
    mutationFn: async (body: {
      severity: 'high' | 'medium' | 'low';
      title: string;
      description?: string;
    }) =>
      ok(
        await api.POST('/api/v1/orgs/{org}/projects/{project}/issues/{number}/risks', {
          params: issuePath(props),
          body,
        }),
      ),
    onSuccess: () => invalidate(),
  });
  return (
    <section aria-labelledby="risks" className="card">
      <h2 id="risks">Risks</h2>
      <Loaded query={list} label="Loading risks">
        {(data) =>
          data.items.length === 0 ? (
            <p>No risks recorded.</p>
          ) : (
            <ul className="plain">
              {data.items.map((r) => (
                <li key={r.id}>
                  <strong>
                    [{r.severity}] {r.title}
                  </strong>{' '}
                  ({r.status})
                  {r.signal && (
                    <span className={`signal signal-${r.signal.level}`}>
                      {' '}
                      signal {r.signal.level}: {r.signal.text}
                    </span>
                  )}
                  {r.description && <p>{r.description}</p>}
                  {r.mitigations.length > 0 && (
                    <ul>
                      {r.mitigations.map((m, i) => (
                        <li key={i}>
                          {m.text} ({m.status.replace(/_/g, ' ')})
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <Action title="Add a risk">
        {(close) => (
          <form
            className="stack"
            onSubmit={(e: FormEvent<HTMLFormElement>) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget);
              const description = field(f, 'description');
              add.mutate(
                {
                  severity: field(f, 'severity') as 'high' | 'medium' | 'low',
                  title: field(f, 'title'),
                  ...(description ? { description } : {}),
                },
                { onSuccess: close },
              );
            }}
          >
            <label>
              Severity
              <select name="severity" defaultValue="medium">
                <option value="high">high</option>
                <option value="medium">medium</option>
                <option value="low">low</option>
              </select>
            </label>
            <label>
              Risk title
              <input name="title" required maxLength={300} />
            </label>
            <label>
              Description
              <textarea name="description" maxLength={4000} />
            </label>
            <ErrorLine error={add.error} />
            <button type="submit">Add risk</button>
          </form>
        )}
      </Action>
    </section>
  );
}
