import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { api, authedFetch, ok } from '../api/client.ts';
import { Loaded } from '../components/status.tsx';
import { lineIndex, lineOf } from '../lib/json-lines.ts';
import { checkSchema } from '../lib/schema-check.ts';

interface LineError {
  line: number;
  message: string;
}

function useServedSchema() {
  return useQuery({
    queryKey: ['schema', 'quality-config'],
    staleTime: Infinity,
    queryFn: async () => {
      const res = await authedFetch('/schemas/quality-config.json');
      return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
    },
  });
}

/** Problems in the text, each at its line: syntax first, then the served JSON Schema. */
export function problems(text: string, schema: Record<string, unknown> | null): LineError[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const lineCol = /line (\d+)/.exec(message);
    const line = lineCol ? Number(lineCol[1]) : at ? lineOf(text, Number(at[1])) : 1;
    return [{ line, message: message.replace(/^JSON\.parse: /, '') }];
  }
  if (schema === null) return [];
  const lines = lineIndex(text);
  return checkSchema(schema, value).map((err) => {
    let ptr = err.pointer;
    while (!lines.has(ptr) && ptr !== '') ptr = ptr.slice(0, ptr.lastIndexOf('/'));
    return { line: lines.get(ptr) ?? 1, message: `${err.pointer || '(top)'} ${err.message}` };
  });
}

export function QualityConfigEditor({
  org,
  project,
  editable,
}: {
  org: string;
  project: string;
  editable: boolean;
}) {
  const client = useQueryClient();
  const key = ['org', org, 'project', project, 'quality-config'];
  const config = useQuery({
    queryKey: key,
    queryFn: async () =>
      ok(
        await api.GET('/api/v1/orgs/{org}/projects/{project}/quality-config', {
          params: { path: { org, project } },
        }),
      ),
  });
  const schema = useServedSchema();
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    if (config.data && text === null) setText(JSON.stringify(config.data.config, null, 2));
  }, [config.data, text]);
  const errors = useMemo(
    () => (text === null ? [] : problems(text, schema.data ?? null)),
    [text, schema.data],
  );
  const save = useMutation({
    mutationFn: async (body: string) => {
      const res = await authedFetch(
        `/api/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/quality-config`,
        { method: 'PUT', headers: { 'content-type': 'application/json' }, body },
      );
      if (!res.ok) {
        const p = (await res.json().catch(() => ({}))) as {
          detail?: string;
          errors?: { path?: string; message?: string }[];
        };
        const detail = p.errors?.map((e) => `${e.path ?? ''} ${e.message ?? ''}`).join('; ');
        throw new Error(detail || p.detail || `Saving failed (${res.status})`);
      }
    },
    onSuccess: () => client.invalidateQueries({ queryKey: key }),
  });
  return (
    <div>
      <h3>Quality configuration</h3>
      <Loaded query={config}>
        {(c) => (
          <>
            <p className="muted">
              Version {c.version}
              {c.custom ? '' : ' (the default configuration)'}
              {schema.data === null
                ? '; the server publishes no schema, so it checks on save'
                : '; checked as you type'}
            </p>
            <label htmlFor={`qc-${project}`}>Configuration (JSON)</label>
            <textarea
              id={`qc-${project}`}
              className="code"
              rows={20}
              spellCheck={false}
              readOnly={!editable}
              value={text ?? ''}
              onChange={(e) => setText(e.target.value)}
              aria-describedby={`qc-${project}-errors`}
              aria-invalid={errors.length > 0}
            />
            <div id={`qc-${project}-errors`} aria-live="polite">
              {errors.length === 0 ? (
                <p className="muted">No problems found.</p>
              ) : (
                <ul className="error">
                  {errors.slice(0, 20).map((e, i) => (
                    <li key={i}>
                      Line {e.line}: {e.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
            {editable && (
              <button
                type="button"
                disabled={errors.length > 0 || save.isPending}
                onClick={() => text !== null && save.mutate(text)}
              >
                Save configuration
              </button>
            )}
            {save.isSuccess && <p role="status">Saved.</p>}
            {save.error && (
              <p role="alert" className="error">
                {save.error.message}
              </p>
            )}
          </>
        )}
      </Loaded>
    </div>
  );
}
