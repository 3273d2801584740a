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

function headline(type: EventType, d: Record<string, unknown>): string {
  switch (type) {
    case 'gate.changed': {
      const gate = named(d['gate']) ?? str(d['gateKey']) ?? 'A gate';
      const to = str(d['to']) ?? str(d['state']) ?? named(field(d['gate'], 'state'));
      const from = str(d['from']);
      if (to === undefined) return `Gate ${gate} changed`;
      return `Gate ${gate} is now ${to}${from === undefined ? '' : ` (was ${from})`}`;
    }
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
      const activity = named(d['activity']) ?? str(d['key']) ?? 'An activity';
      const status = str(d['status']) ?? str(field(d['activity'], 'status'));
      return status === undefined
        ? `Activity ${activity} changed`
        : `Activity ${activity} is ${status}`;
    }
    case 'checkpoint.due': {
      const title = named(d['checkpoint']) ?? 'a checkpoint';
      return `Checkpoint due: ${title}`;
    }
    case 'run.completed': {
      const run = (d['run'] ?? d) as Record<string, unknown>;
      const passed = str(run['passed']);
      const total = str(run['tests']) ?? str(run['total']);
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
