import { describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../webhooks/events.ts';
import { notifyPayload } from './event-bus.ts';
import { sseFrame } from './event-hub.ts';

const event = (data: Record<string, unknown>): OutboundEvent => ({
  orgId: '01a22c02-0000-7000-8000-000000000001',
  eventId: '01a22c02-0000-7000-8000-000000000002',
  type: 'gate.changed',
  occurredAt: '2026-11-30T10:00:00.000Z',
  data,
});

describe('the live event notification', () => {
  it('carries the whole event when it fits in a NOTIFY payload', () => {
    const e = event({ project: 'portal', issue: 2, overall: 'blocked', changes: [] });
    expect(JSON.parse(notifyPayload(e))).toEqual(e);
  });

  it('keeps only what names the subject, flagged truncated, when the event is too large', () => {
    const reasons = Array.from({ length: 400 }, (_, i) => `reason ${i}: pass rate below 90%`);
    const e = event({ project: 'portal', issue: 2, issueId: 'x', overall: 'blocked', reasons });
    const payload = notifyPayload(e);
    expect(Buffer.byteLength(payload)).toBeLessThan(8000);
    expect(JSON.parse(payload)).toEqual({
      ...e,
      data: { project: 'portal', issue: 2, issueId: 'x', overall: 'blocked' },
      truncated: true,
    });
  });

  it('becomes one server-sent event frame with the webhook payload and the event id', () => {
    const frame = sseFrame(event({ project: 'portal', note: 'two\nlines' }));
    expect(frame.endsWith('\n\n')).toBe(true);
    const lines = frame.trimEnd().split('\n');
    expect(lines).toEqual([
      'id: 01a22c02-0000-7000-8000-000000000002',
      'event: gate.changed',
      expect.stringMatching(/^data: \{/),
    ]);
    expect(JSON.parse(lines[2]!.slice(6))).toEqual({
      id: '01a22c02-0000-7000-8000-000000000002',
      type: 'gate.changed',
      timestamp: '2026-11-30T10:00:00.000Z',
      data: { project: 'portal', note: 'two\nlines' },
    });
  });
});
