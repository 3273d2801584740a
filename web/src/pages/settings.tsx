import { field } from '../lib/form.ts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, done, ok } from '../api/client.ts';
import { ConfirmAction } from '../components/confirm.tsx';
import { CopyButton, ErrorView, Loaded, when } from '../components/status.tsx';
import { useOrgMutation, useOrgQuery } from '../lib/org-resource.ts';
import { navigate } from '../router.tsx';
import { QualityConfigEditor } from './quality-config.tsx';

const ROLES = [
  'owner',
  'admin',
  'qa_lead',
  'architect',
  'developer',
  'reviewer',
  'viewer',
] as const;
type Role = (typeof ROLES)[number];
const TOKEN_ROLES = ['ci', ...ROLES] as const;
type TokenRole = (typeof TOKEN_ROLES)[number];
const EVENTS = [
  'gate.changed',
  'escalation.created',
  'escalation.breached',
  'activity.changed',
  'checkpoint.due',
  'run.completed',
] as const;
type EventName = (typeof EVENTS)[number];

function ErrorLine({ error }: { error: Error | null }) {
  return error ? (
    <p role="alert" className="error">
      {error.message}
    </p>
  ) : null;
}

/** Whether `granter` may grant a role, or change or remove a member who has it: the API's
 *  canGrant (src/domain/permissions.ts) as it falls out for the two managing roles. */
function canGrant(granter: string | undefined, role: string): boolean {
  return granter === 'owner' || (granter === 'admin' && role !== 'owner');
}

export default function SettingsPage({ org }: { org: string }) {
  const me = useQuery({ queryKey: ['me'], queryFn: async () => ok(await api.GET('/api/v1/me')) });
  const role = me.data?.memberships.find((m) => m.org.slug === org)?.role;
  const admin = role === 'owner' || role === 'admin';
  const info = useOrgQuery(org, 'info', async () =>
    ok(await api.GET('/api/v1/orgs/{org}', { params: { path: { org } } })),
  );
  if (info.error) return <ErrorView error={info.error} />;
  const name = info.data?.name ?? org;
  return (
    <>
      <h1>Settings of {name}</h1>
      <p>Your role: {role ?? '…'}</p>
      {role !== undefined && !admin && (
        <p className="muted">
          Invitations, API tokens, webhooks and the audit log are managed by owners and admins.
        </p>
      )}
      <Members org={org} orgName={name} role={role} userId={me.data?.user.id} />
      {admin && <Invitations org={org} />}
      {admin && <ApiTokens org={org} />}
      {admin && <Webhooks org={org} />}
      <Projects org={org} admin={admin || role === 'qa_lead'} />
      {admin && <Audit org={org} />}
    </>
  );
}

function Members({
  org,
  orgName,
  role,
  userId,
}: {
  org: string;
  orgName: string;
  /** The signed-in user's role here, and their id. */
  role: string | undefined;
  userId: string | undefined;
}) {
  const manage = role === 'owner' || role === 'admin';
  const client = useQueryClient();
  const list = useOrgQuery(org, 'members', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/members', {
        params: { path: { org }, query: { limit: 200 } },
      }),
    ),
  );
  const change = useOrgMutation(org, 'members', async (v: { userId: string; role: Role }) =>
    ok(
      await api.PATCH('/api/v1/orgs/{org}/members/{userId}', {
        params: { path: { org, userId: v.userId } },
        body: { role: v.role },
      }),
    ),
  );
  const removeMember = async (id: string) =>
    done(
      await api.DELETE('/api/v1/orgs/{org}/members/{userId}', {
        params: { path: { org, userId: id } },
      }),
    );
  const remove = useOrgMutation(org, 'members', removeMember);
  // Leaving ends access to this org: the pages that list orgs are read again, and the
  // user goes to them.
  const leave = useMutation({
    mutationFn: removeMember,
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: ['me'] }),
        client.invalidateQueries({ queryKey: ['orgs'] }),
      ]);
      navigate('/');
    },
  });
  return (
    <section aria-labelledby="members" className="card">
      <h2 id="members" tabIndex={-1}>
        Members and roles
      </h2>
      {role !== undefined && !manage && (
        <p className="muted">Only owners and admins can change roles or remove members.</p>
      )}
      <ErrorLine error={change.error} />
      <Loaded query={list}>
        {(data) => (
          <table>
            <caption className="sr-only">Members</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.userId}>
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {manage && canGrant(role, m.role) ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) =>
                          change.mutate({ userId: m.userId, role: e.target.value as Role })
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} disabled={!canGrant(role, r)}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{when(m.joinedAt)}</td>
                  <td>
                    {m.userId === userId ? (
                      <ConfirmAction
                        label="Leave"
                        target={orgName}
                        title={`Leave ${orgName}?`}
                        confirm="Leave organization"
                        action={() => leave.mutateAsync(m.userId)}
                      >
                        <p>
                          You lose access to {orgName} at once; only a new invitation lets you back
                          in.
                        </p>
                      </ConfirmAction>
                    ) : manage && canGrant(role, m.role) ? (
                      <ConfirmAction
                        label="Remove"
                        target={m.email}
                        title={`Remove ${m.name} from ${orgName}?`}
                        confirm="Remove member"
                        action={() => remove.mutateAsync(m.userId)}
                        focusAfter="members"
                      >
                        <p>
                          {m.name} ({m.email}) loses access to {orgName} at once; only a new
                          invitation lets them back in.
                        </p>
                      </ConfirmAction>
                    ) : manage ? (
                      <span className="muted">Only an owner can change or remove an owner</span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

function Invitations({ org }: { org: string }) {
  const list = useOrgQuery(org, 'invitations', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/invitations', {
        params: { path: { org }, query: { limit: 200 } },
      }),
    ),
  );
  const invite = useOrgMutation(org, 'invitations', async (body: { email: string; role: Role }) =>
    ok(await api.POST('/api/v1/orgs/{org}/invitations', { params: { path: { org } }, body })),
  );
  const revoke = useOrgMutation(org, 'invitations', async (id: string) => {
    done(
      await api.DELETE('/api/v1/orgs/{org}/invitations/{id}', { params: { path: { org, id } } }),
    );
    // The link shown for it no longer works: stop offering it.
    if (invite.data?.id === id) invite.reset();
  });
  const link = invite.data
    ? `${location.origin}/invitations/accept#token=${encodeURIComponent(invite.data.token)}`
    : null;
  return (
    <section aria-labelledby="invitations" className="card">
      <h2 id="invitations" tabIndex={-1}>
        Invitations
      </h2>
      <form
        className="toolbar"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          invite.mutate({ email: field(f, 'email'), role: field(f, 'role') as Role });
        }}
      >
        <label>
          Invitee email
          <input name="email" type="email" required />
        </label>
        <label>
          Invitee role
          <select name="role" defaultValue="developer">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Invite</button>
      </form>
      <ErrorLine error={invite.error} />
      {link && (
        <p className="secret">
          Send this link to {invite.data?.email} (shown once): <code>{link}</code>{' '}
          <CopyButton text={link} label="Copy link" />
        </p>
      )}
      <Loaded query={list}>
        {(data) => {
          const pending = data.items.filter((i) => i.state === 'pending');
          const past = data.items.filter((i) => i.state !== 'pending');
          return (
            <>
              <h3 id="pending-invitations">Pending</h3>
              {pending.length === 0 ? (
                <p>No pending invitations.</p>
              ) : (
                <ul aria-labelledby="pending-invitations">
                  {pending.map((i) => (
                    <li key={i.id}>
                      {i.email} as {i.role}, expires {when(i.expiresAt)}{' '}
                      <ConfirmAction
                        label="Revoke"
                        target={`invitation for ${i.email}`}
                        title={`Revoke the invitation for ${i.email}?`}
                        confirm="Revoke invitation"
                        action={() => revoke.mutateAsync(i.id)}
                        focusAfter="invitations"
                      >
                        <p>
                          The link sent to {i.email} stops working at once. You can invite them
                          again later.
                        </p>
                      </ConfirmAction>
                    </li>
                  ))}
                </ul>
              )}
              {past.length > 0 && (
                <details>
                  <summary>Past invitations ({past.length})</summary>
                  <ul>
                    {past.map((i) => (
                      <li key={i.id}>
                        {i.email} as {i.role}: {i.state}, sent {when(i.createdAt)}
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function ApiTokens({ org }: { org: string }) {
  const list = useOrgQuery(org, 'api-tokens', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/api-tokens', {
        params: { path: { org }, query: { limit: 200 } },
      }),
    ),
  );
  const create = useOrgMutation(
    org,
    'api-tokens',
    async (body: { name: string; role: TokenRole }) =>
      ok(await api.POST('/api/v1/orgs/{org}/api-tokens', { params: { path: { org } }, body })),
  );
  const revoke = useOrgMutation(org, 'api-tokens', async (id: string) =>
    done(await api.DELETE('/api/v1/orgs/{org}/api-tokens/{id}', { params: { path: { org, id } } })),
  );
  return (
    <section aria-labelledby="tokens" className="card">
      <h2 id="tokens">API tokens</h2>
      <form
        className="toolbar"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          create.mutate({ name: field(f, 'name'), role: field(f, 'role') as TokenRole });
        }}
      >
        <label>
          Token name
          <input name="name" required maxLength={100} />
        </label>
        <label>
          Token role
          <select name="role" defaultValue="ci">
            {TOKEN_ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      <ErrorLine error={create.error} />
      {create.data && (
        <div className="secret">
          <p>Secret of “{create.data.name}”, shown once: copy it now.</p>
          <p>
            <code data-testid="token-secret">{create.data.token}</code>{' '}
            <CopyButton text={create.data.token} label="Copy token" />
          </p>
        </div>
      )}
      <ErrorLine error={revoke.error} />
      <Loaded query={list}>
        {(data) => (
          <ul>
            {data.items.map((t) => (
              <li key={t.id}>
                {t.name} ({t.role}), created {when(t.createdAt)}, last used {when(t.lastUsedAt)}
                {t.revokedAt ? `, revoked ${when(t.revokedAt)}` : ''}{' '}
                {t.revokedAt === null && (
                  <button
                    type="button"
                    onClick={() => revoke.mutate(t.id)}
                    aria-label={`Revoke token ${t.name}`}
                  >
                    Revoke
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Loaded>
    </section>
  );
}

function Webhooks({ org }: { org: string }) {
  const list = useOrgQuery(org, 'webhooks', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/webhooks', {
        params: { path: { org }, query: { limit: 100 } },
      }),
    ),
  );
  const create = useOrgMutation(
    org,
    'webhooks',
    async (body: { url: string; events: EventName[] }) =>
      ok(await api.POST('/api/v1/orgs/{org}/webhooks', { params: { path: { org } }, body })),
  );
  const remove = useOrgMutation(org, 'webhooks', async (id: string) => {
    done(await api.DELETE('/api/v1/orgs/{org}/webhooks/{id}', { params: { path: { org, id } } }));
    // Its signing secret, if still shown, signs nothing any more.
    if (create.data?.id === id) create.reset();
  });
  return (
    <section aria-labelledby="webhooks" className="card">
      <h2 id="webhooks" tabIndex={-1}>
        Webhooks
      </h2>
      <form
        className="stack"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          create.mutate({
            url: field(f, 'url'),
            events: f
              .getAll('events')
              .filter((v): v is string => typeof v === 'string') as EventName[],
          });
        }}
      >
        <label>
          Webhook URL
          <input name="url" type="url" required />
        </label>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev} className="inline">
              <input type="checkbox" name="events" value={ev} defaultChecked /> {ev}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </form>
      <ErrorLine error={create.error} />
      {create.data && (
        <p className="secret">
          Signing secret (shown once): <code>{create.data.secret}</code>{' '}
          <CopyButton text={create.data.secret} label="Copy secret" />
        </p>
      )}
      <Loaded query={list}>
        {(data) => (
          <ul className="plain">
            {data.items.map((w) => (
              <li key={w.id}>
                <details>
                  <summary>
                    {w.url} ({w.events.join(', ')}) {w.active ? 'active' : 'inactive'}
                  </summary>
                  <Deliveries org={org} id={w.id} />
                </details>
                <ConfirmAction
                  label="Delete"
                  target={`webhook ${w.url}`}
                  title={`Delete the webhook to ${w.url}?`}
                  confirm="Delete webhook"
                  action={() => remove.mutateAsync(w.id)}
                  focusAfter="webhooks"
                >
                  <p>
                    No more events are sent to {w.url}, including deliveries still queued, and its
                    delivery log is deleted with it.
                  </p>
                </ConfirmAction>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
    </section>
  );
}

function Deliveries({ org, id }: { org: string; id: string }) {
  const list = useOrgQuery(org, ['webhooks', id, 'deliveries'], async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/webhooks/{id}/deliveries', {
        params: { path: { org, id }, query: { limit: 50 } },
      }),
    ),
  );
  return (
    <Loaded query={list}>
      {(data) =>
        data.items.length === 0 ? (
          <p>No deliveries yet.</p>
        ) : (
          <table>
            <caption>Delivery log</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((d) => (
                <tr key={d.id}>
                  <td>{d.eventType}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts}</td>
                  <td>{d.responseStatus ?? d.error ?? '—'}</td>
                  <td>{when(d.deliveredAt ?? d.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loaded>
  );
}

/** Per project: the GitHub link and the quality configuration. */
function Projects({ org, admin }: { org: string; admin: boolean }) {
  const projects = useOrgQuery(org, 'projects', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/projects', {
        params: { path: { org }, query: { limit: 100 } },
      }),
    ),
  );
  const [chosen, setChosen] = useState('');
  const project = chosen || projects.data?.items[0]?.key || '';
  return (
    <section aria-labelledby="project-settings" className="card">
      <h2 id="project-settings">Project settings</h2>
      <Loaded query={projects}>
        {(data) =>
          data.items.length === 0 ? (
            <p>No projects yet.</p>
          ) : (
            <>
              <label>
                Project{' '}
                <select value={project} onChange={(e) => setChosen(e.target.value)}>
                  {data.items.map((p) => (
                    <option key={p.key} value={p.key}>
                      {p.name}
                    </option>
                  ))}
                </select>
              </label>
              {project && (
                <GithubLink key={`gh-${project}`} org={org} project={project} admin={admin} />
              )}
              {project && (
                <QualityConfigEditor
                  key={`qc-${project}`}
                  org={org}
                  project={project}
                  editable={admin}
                />
              )}
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function GithubLink({ org, project, admin }: { org: string; project: string; admin: boolean }) {
  const key = ['project', project, 'github'];
  const link = useOrgQuery(org, key, async () => {
    const r = await api.GET('/api/v1/orgs/{org}/projects/{project}/github', {
      params: { path: { org, project } },
    });
    return r.response.status === 404 ? null : ok(r);
  });
  const save = useOrgMutation(
    org,
    key,
    async (body: { repo: string; token: string; apiUrl?: string }) =>
      ok(
        await api.PUT('/api/v1/orgs/{org}/projects/{project}/github', {
          params: { path: { org, project } },
          body,
        }),
      ),
  );
  return (
    <div>
      <h3>GitHub link</h3>
      <Loaded query={link}>
        {(l) =>
          l ? (
            <p>
              Linked to {l.repo} (webhook URL {l.webhookUrl}).
            </p>
          ) : (
            <p>Not linked to GitHub.</p>
          )
        }
      </Loaded>
      {admin && (
        <form
          className="toolbar"
          onSubmit={(e: FormEvent<HTMLFormElement>) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            const apiUrl = field(f, 'apiUrl');
            save.mutate({
              repo: field(f, 'repo'),
              token: field(f, 'token'),
              ...(apiUrl ? { apiUrl } : {}),
            });
          }}
        >
          <label>
            Repository (owner/repo)
            <input name="repo" required pattern="[^/\s]+/[^/\s]+" />
          </label>
          <label>
            GitHub token
            <input name="token" type="password" required autoComplete="off" />
          </label>
          <label>
            API URL (GitHub Enterprise)
            <input name="apiUrl" type="url" />
          </label>
          <button type="submit">Link repository</button>
        </form>
      )}
      <ErrorLine error={save.error} />
    </div>
  );
}

function Audit({ org }: { org: string }) {
  const list = useOrgQuery(org, 'audit', async () =>
    ok(
      await api.GET('/api/v1/orgs/{org}/audit-events', {
        params: { path: { org }, query: { limit: 100 } },
      }),
    ),
  );
  return (
    <section aria-labelledby="audit" className="card">
      <h2 id="audit">Audit log</h2>
      <Loaded query={list}>
        {(data) => (
          <table>
            <caption className="sr-only">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((a) => (
                <tr key={a.id}>
                  <td>{when(a.createdAt)}</td>
                  <td>
                    {a.actorType} {a.actorId.slice(0, 8)}
                  </td>
                  <td>{a.action}</td>
                  <td>{a.targetType}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}
