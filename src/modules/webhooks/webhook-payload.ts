import type { EventType, OutboundEvent } from './events.ts';

/** What a `standard` webhook receives as its body (the Standard Webhooks payload shape). */
export interface StandardPayload {
  type: EventType;
  timestamp: string;
  data: Record<string, unknown>;
}

export function standardPayload(event: OutboundEvent): StandardPayload {
  return { type: event.type, timestamp: event.occurredAt, data: event.data };
}

const SLACK_TEXT_MAX = 3000;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const field = (v: unknown, key: string): unknown =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
/** A thing's human name: itself when a string, else its name, title or key. */
const named = (v: unknown): string | undefined =>
  str(v) ?? str(field(v, 'name')) ?? str(field(v, 'title')) ?? str(field(v, 'key'));

/** Slack mrkdwn treats &, < and > as markup; user text must not make links or mentions. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "from → to", or "to" alone, or undefined without a new state. */
function move(from: unknown, to: unknown): string | undefined {
  const t = str(to);
  if (t === undefined) return undefined;
  const f = str(from);
  return f === undefined ? t : `${f} → ${t}`;
}

/** One line per gate that changed, as the gate engine sends them ({gate, from, to, reason}). */
function gateLines(d: Record<string, unknown>): string {
  const changes = Array.isArray(d['changes']) ? (d['changes'] as unknown[]) : [d];
  const lines = changes.slice(0, 10).map((c) => {
    const gate = named(field(c, 'gate')) ?? str(field(c, 'gateKey')) ?? 'a gate';
    const state = move(field(c, 'from'), field(c, 'to') ?? field(c, 'state'));
    const reason = str(field(c, 'reason'));
    return `• ${gate}${state === undefined ? ' changed' : `: ${state}`}${reason === undefined ? '' : ` (${reason})`}`;
  });
  if (changes.length > 10) lines.push(`• and ${changes.length - 10} more`);
  const overall = str(d['overall']);
  return [`Gates changed${overall === undefined ? '' : `; overall ${overall}`}`, ...lines].join(
    '\n',
  );
}

function headline(type: EventType, d: Record<string, unknown>): string {
  switch (type) {
    case 'gate.changed':
      return gateLines(d);
    case 'escalation.created': {
      const role = str(d['role']) ?? 'someone';
      const reason = str(d['reason']);
      return `Escalated to ${role}${reason === undefined ? '' : `: ${reason}`}`;
    }
    case 'escalation.breached': {
      const role = str(d['role']) ?? 'someone';
      const target = str(d['target']);
      return `Escalation to ${role} breached${target === undefined ? '' : ` its ${target} target`}`;
    }
    case 'activity.changed': {
      const activity = str(d['title']) ?? named(d['activity']) ?? str(d['key']) ?? 'An activity';
      const state = move(d['from'], d['to'] ?? d['status'] ?? field(d['activity'], 'status'));
      return state === undefined
        ? `Activity ${activity} changed`
        : `Activity ${activity}: ${state}`;
    }
    case 'checkpoint.due': {
      const title = named(d['checkpoint']) ?? 'a checkpoint';
      return `Checkpoint due: ${title}`;
    }
    case 'run.completed': {
      const totals = (d['totals'] ?? d['run'] ?? d) as Record<string, unknown>;
      const passed = str(totals['passed']);
      const total = str(totals['tests']) ?? str(totals['total']);
      const counts =
        passed !== undefined && total !== undefined ? `: ${passed} of ${total} passed` : '';
      return `Test run completed${counts}`;
    }
  }
}

/**
 * A readable one-message summary of an event for a Slack incoming webhook (`{text}`): who
 * it concerns (project and issue), what happened, and the event type for filtering. Works
 * on whatever data the emitting module sends; unknown shapes fall back to the type.
 */
export function slackText(event: Pick<StandardPayload, 'type' | 'data'>): string {
  const d = event.data;
  const project = str(d['project']);
  const issue = str(d['issue']) ?? str(d['issueNumber']);
  const where =
    project === undefined ? '' : ` · ${project}${issue === undefined ? '' : ` #${issue}`}`;
  const text = `*Gatehouse*${where} · \`${event.type}\`\n${headline(event.type, d)}`;
  const safe = escape(text);
  return safe.length <= SLACK_TEXT_MAX ? safe : `${safe.slice(0, SLACK_TEXT_MAX - 1)}…`;
}

/** The request body a webhook of this format receives for an event. */
export function webhookBody(format: 'standard' | 'slack', payload: StandardPayload): string {
  return JSON.stringify(format === 'slack' ? { text: slackText(payload) } : payload);
}
