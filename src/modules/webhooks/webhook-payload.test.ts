import { describe, expect, it } from 'vitest';
import type { OutboundEvent } from './events.ts';
import { slackText, standardPayload, webhookBody } from './webhook-payload.ts';

const event = (type: OutboundEvent['type'], data: Record<string, unknown>): OutboundEvent => ({
  orgId: '01890000-0000-7000-8000-000000000001',
  eventId: '01890000-0000-7000-8000-000000000002',
  type,
  occurredAt: '2026-05-04T09:00:00.000Z',
  data,
});

describe('the standard payload', () => {
  it('is the Standard Webhooks shape: type, timestamp, data', () => {
    const e = event('run.completed', { project: 'app', run: { id: 'r1' } });
    expect(standardPayload(e)).toEqual({
      type: 'run.completed',
      timestamp: '2026-05-04T09:00:00.000Z',
      data: { project: 'app', run: { id: 'r1' } },
    });
    expect(JSON.parse(webhookBody('standard', standardPayload(e)))).toEqual(standardPayload(e));
  });
});

describe('the Slack message', () => {
  it.each([
    [
      // As the gate engine sends it.
      event('gate.changed', {
        issueId: '01890000-0000-7000-8000-000000000003',
        project: 'app',
        issue: 2,
        overall: 'blocked',
        changes: [
          { gate: 'infrastructure', from: 'pending', to: 'blocked', reason: '7 jwt failures' },
          { gate: 'reliability', from: 'blocked', to: 'pending', reason: null },
        ],
      }),
      '*Gatehouse* · app #2 · `gate.changed`\nGates changed; overall blocked\n' +
        '• infrastructure: pending → blocked (7 jwt failures)\n• reliability: blocked → pending',
    ],
    [
      event('escalation.created', { project: 'app', issue: 2, role: 'architect', reason: 'JWT' }),
      '*Gatehouse* · app #2 · `escalation.created`\nEscalated to architect: JWT',
    ],
    [
      event('escalation.breached', {
        project: 'app',
        issue: 2,
        role: 'admin',
        target: 'acknowledge',
      }),
      '*Gatehouse* · app #2 · `escalation.breached`\nEscalation to admin breached its acknowledge target',
    ],
    [
      // As the activities service sends it.
      event('activity.changed', {
        project: 'app',
        issue: 2,
        activity: 'ta-analysis',
        title: 'TA analysis',
        ownerRole: 'architect',
        from: 'ready',
        to: 'in_progress',
        version: 2,
      }),
      '*Gatehouse* · app #2 · `activity.changed`\nActivity TA analysis: ready → in_progress',
    ],
    [
      event('checkpoint.due', {
        project: 'app',
        issue: 2,
        checkpoint: { title: 'Daily status check' },
      }),
      '*Gatehouse* · app #2 · `checkpoint.due`\nCheckpoint due: Daily status check',
    ],
    [
      // As the run lifecycle sends it; a run without an issue names only the project.
      event('run.completed', {
        runId: 'r1',
        project: 'app',
        issue: null,
        totals: { tests: 60, passed: 48, failed: 12 },
      }),
      '*Gatehouse* · app · `run.completed`\nTest run completed: 48 of 60 passed',
    ],
  ])('reads as a sentence (%#)', (e, text) => {
    expect(slackText(e)).toBe(text);
    expect(JSON.parse(webhookBody('slack', standardPayload(e)))).toEqual({ text });
  });

  it('falls back to the event type when the data has an unknown shape', () => {
    expect(slackText(event('gate.changed', {}))).toBe(
      '*Gatehouse* · `gate.changed`\nGates changed\n• a gate changed',
    );
    expect(slackText(event('activity.changed', { activity: 'ta' }))).toBe(
      '*Gatehouse* · `activity.changed`\nActivity ta changed',
    );
    expect(slackText(event('run.completed', { n: 1 }))).toBe(
      '*Gatehouse* · `run.completed`\nTest run completed',
    );
  });

  it('escapes what Slack reads as links and mentions, and stays short', () => {
    const text = slackText(
      event('escalation.created', { role: 'architect', reason: '<!channel> & <https://x|y>' }),
    );
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;https://x|y&gt;');
    expect(text).not.toMatch(/<|>/);
    const long = slackText(event('escalation.created', { role: 'a', reason: 'x'.repeat(10_000) }));
    expect(long.length).toBe(3000);
    expect(long.endsWith('…')).toBe(true);
  });
});
