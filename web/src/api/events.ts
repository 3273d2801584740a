import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { authedFetch } from './client.ts';

export interface OrgEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Splits a text/event-stream into events (the `event:` name and the joined `data:` lines). */
export function* parseEvents(chunk: string): Generator<{ event: string; data: string }> {
  for (const block of chunk.split(/\r?\n\r?\n/)) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) yield { event, data: data.join('\n') };
  }
}

function toEvent(event: string, data: string): OrgEvent | null {
  try {
    const body = JSON.parse(data) as { type?: string; data?: Record<string, unknown> };
    const type = body.type ?? event;
    return { type, data: body.data ?? body };
  } catch {
    return null;
  }
}

/** Invalidates what an event may have changed; a run's 100k results are never refetched. */
function invalidate(client: QueryClient, org: string, _event: OrgEvent): void {
  void client.invalidateQueries({
    predicate: (q) =>
      q.queryKey[0] === 'org' && q.queryKey[1] === org && !q.queryKey.includes('results'),
  });
}

const LABELS: Record<string, string> = {
  'run.completed': 'A test run completed',
  'gate.changed': 'Gates changed',
  'escalation.created': 'An escalation was created',
  'escalation.breached': 'An escalation breached its clock',
  'activity.changed': 'An activity changed',
  'checkpoint.due': 'A checkpoint is due',
};

/**
 * Subscribes to the org's server-sent events (read with fetch so the bearer header goes
 * along) and invalidates the matching queries, so open pages update without a reload.
 * Returns a line for a polite live region.
 */
export function useOrgEvents(org: string | null): string {
  const client = useQueryClient();
  const [status, setStatus] = useState('');
  useEffect(() => {
    if (org === null) return;
    const abort = new AbortController();
    let delay = 1000;
    const connect = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          const res = await authedFetch(`/api/v1/orgs/${encodeURIComponent(org)}/events`, {
            headers: { accept: 'text/event-stream' },
            signal: abort.signal,
          });
          // No stream on this server (or not for this user): nothing to listen to.
          if (res.status === 404 || res.status === 403 || res.status === 405) return;
          if (!res.ok || res.body === null) throw new Error(String(res.status));
          delay = 1000;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            const end = buffer.lastIndexOf('\n\n');
            if (end < 0) continue;
            const complete = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const said: string[] = [];
            for (const { event, data } of parseEvents(complete)) {
              const e = toEvent(event, data);
              if (e === null) continue;
              // `ready` opens every stream; anything else (resync included) may change data.
              if (e.type !== 'ready') invalidate(client, org, e);
              const label = LABELS[e.type];
              if (label !== undefined && !said.includes(label)) said.push(label);
            }
            if (said.length > 0)
              setStatus(`${said.join('; ')} (${new Date().toLocaleTimeString()})`);
          }
        } catch {
          if (abort.signal.aborted) return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    };
    void connect();
    return () => abort.abort();
  }, [org, client]);
  return status;
}
