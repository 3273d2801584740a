import { describe, expect, it } from 'vitest';
import {
  anchorRecurrence,
  canonicalTimeZone,
  describeRecurrence,
  isTimeZone,
  localDate,
  nextDue,
  zonedInstant,
  type Recurrence,
} from './recurrence.ts';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('zonedInstant', () => {
  it('reads a local time in the zone of the date, summer or winter', () => {
    expect(iso(zonedInstant('2025-01-15', '09:00', 'Europe/Berlin'))).toBe(
      '2025-01-15T08:00:00.000Z',
    );
    expect(iso(zonedInstant('2025-07-15', '09:00', 'Europe/Berlin'))).toBe(
      '2025-07-15T07:00:00.000Z',
    );
    expect(iso(zonedInstant('2025-07-15', '09:00', 'UTC'))).toBe('2025-07-15T09:00:00.000Z');
  });

  it('moves a time skipped when clocks go forward past the gap', () => {
    // New York, 9 March 2025: 02:00 EST became 03:00 EDT; 02:30 never happened.
    expect(iso(zonedInstant('2025-03-09', '02:30', 'America/New_York'))).toBe(
      '2025-03-09T07:30:00.000Z', // 03:30 EDT
    );
  });

  it('takes the first of a time that happens twice when clocks go back', () => {
    // New York, 2 November 2025: 01:30 EDT (05:30Z), then 01:30 EST (06:30Z).
    expect(iso(zonedInstant('2025-11-02', '01:30', 'America/New_York'))).toBe(
      '2025-11-02T05:30:00.000Z',
    );
  });

  it('refuses dates and times that do not exist', () => {
    expect(() => zonedInstant('2025-02-30', '09:00', 'UTC')).toThrow(RangeError);
    expect(() => zonedInstant('2025-02-10', '24:00', 'UTC')).toThrow(RangeError);
  });
});

describe('nextDue', () => {
  const daily: Recurrence = { kind: 'daily', at: '09:00' };

  it('is today when the time has not come yet, else tomorrow', () => {
    expect(iso(nextDue(daily, 'UTC', at('2025-08-12T08:59:00Z')))).toBe('2025-08-12T09:00:00.000Z');
    expect(iso(nextDue(daily, 'UTC', at('2025-08-12T09:00:00Z')))).toBe('2025-08-13T09:00:00.000Z');
  });

  it('keeps 09:00 on the wall clock across the spring change (a 23-hour day)', () => {
    const tz = 'Europe/Berlin'; // 30 March 2025, 02:00 CET → 03:00 CEST
    const first = nextDue(daily, tz, at('2025-03-29T12:00:00Z'))!;
    expect(iso(first)).toBe('2025-03-30T07:00:00.000Z');
    expect(iso(nextDue(daily, tz, at('2025-03-29T07:30:00Z')))).toBe('2025-03-29T08:00:00.000Z');
    expect(iso(nextDue(daily, tz, at('2025-03-29T08:30:00Z')))).toBe('2025-03-30T07:00:00.000Z');
    expect(first.getTime() - zonedInstant('2025-03-29', '09:00', tz).getTime()).toBe(23 * 3600_000);
    expect(iso(nextDue(daily, tz, first))).toBe('2025-03-31T07:00:00.000Z');
  });

  it('keeps 09:00 on the wall clock across the autumn change (a 25-hour day)', () => {
    const tz = 'Europe/Berlin'; // 26 October 2025, 03:00 CEST → 02:00 CET
    const sat = zonedInstant('2025-10-25', '09:00', tz);
    expect(iso(sat)).toBe('2025-10-25T07:00:00.000Z');
    const sun = nextDue(daily, tz, sat)!;
    expect(iso(sun)).toBe('2025-10-26T08:00:00.000Z');
    expect(sun.getTime() - sat.getTime()).toBe(25 * 3600_000);
  });

  it('fires a time skipped by the spring change once, after the gap', () => {
    const r: Recurrence = { kind: 'daily', at: '02:30' };
    const tz = 'America/New_York';
    const sat = nextDue(r, tz, at('2025-03-08T12:00:00Z'))!;
    expect(iso(sat)).toBe('2025-03-09T07:30:00.000Z'); // Sunday 03:30 EDT
    expect(iso(nextDue(r, tz, sat))).toBe('2025-03-10T06:30:00.000Z'); // Monday 02:30 EDT
  });

  it('fires a time repeated by the autumn change once, at its first occurrence', () => {
    const r: Recurrence = { kind: 'daily', at: '01:30' };
    const tz = 'America/New_York';
    const first = nextDue(r, tz, at('2025-11-01T12:00:00Z'))!;
    expect(iso(first)).toBe('2025-11-02T05:30:00.000Z');
    // Not again an hour later at the second 01:30: next is Monday's.
    expect(iso(nextDue(r, tz, first))).toBe('2025-11-03T06:30:00.000Z');
  });

  it('skips the weekend for weekdays, in the zone, not in UTC', () => {
    const r: Recurrence = { kind: 'weekdays', at: '09:00' };
    // Friday 15 August 2025, after nine: next is Monday 18th.
    expect(iso(nextDue(r, 'UTC', at('2025-08-15T10:00:00Z')))).toBe('2025-08-18T09:00:00.000Z');
    expect(iso(nextDue(r, 'UTC', at('2025-08-16T10:00:00Z')))).toBe('2025-08-18T09:00:00.000Z');
    expect(iso(nextDue(r, 'UTC', at('2025-08-14T10:00:00Z')))).toBe('2025-08-15T09:00:00.000Z');
    // Sunday 23:30 UTC is already Monday 09:30 in Sydney: next is Tuesday 09:00 there.
    expect(iso(nextDue(r, 'Australia/Sydney', at('2025-08-17T23:30:00Z')))).toBe(
      '2025-08-18T23:00:00.000Z',
    );
    // Friday 22:00 UTC is Saturday in Tokyo: next is Monday 09:00 JST.
    expect(iso(nextDue(r, 'Asia/Tokyo', at('2025-08-15T22:00:00Z')))).toBe(
      '2025-08-18T00:00:00.000Z',
    );
  });

  it('counts every N days from its start date and keeps the cadence', () => {
    const r: Recurrence = { kind: 'every_n_days', days: 3, at: '09:00', from: '2025-08-10' };
    expect(iso(nextDue(r, 'UTC', at('2025-08-01T00:00:00Z')))).toBe('2025-08-10T09:00:00.000Z');
    expect(iso(nextDue(r, 'UTC', at('2025-08-10T09:00:00Z')))).toBe('2025-08-13T09:00:00.000Z');
    expect(iso(nextDue(r, 'UTC', at('2025-08-11T00:00:00Z')))).toBe('2025-08-13T09:00:00.000Z');
    expect(iso(nextDue(r, 'UTC', at('2025-08-13T08:59:00Z')))).toBe('2025-08-13T09:00:00.000Z');
    // A month later it is still on the 3-day grid from the 10th.
    expect(iso(nextDue(r, 'UTC', at('2025-09-10T12:00:00Z')))).toBe('2025-09-12T09:00:00.000Z');
  });

  it('keeps every N days at the local time across a DST change', () => {
    const r: Recurrence = { kind: 'every_n_days', days: 2, at: '09:00', from: '2025-03-28' };
    const tz = 'Europe/Berlin';
    expect(iso(nextDue(r, tz, at('2025-03-28T08:00:00Z')))).toBe('2025-03-30T07:00:00.000Z');
  });

  it('comes due once, then never again', () => {
    const r: Recurrence = { kind: 'once', date: '2025-08-14', at: '15:00' };
    const tz = 'Europe/London';
    const due = nextDue(r, tz, at('2025-08-12T00:00:00Z'));
    expect(iso(due)).toBe('2025-08-14T14:00:00.000Z');
    expect(nextDue(r, tz, due!)).toBeNull();
  });

  it('never comes due by the clock when an activity fires it', () => {
    expect(
      nextDue(
        { kind: 'activity_done', activity: 'ta-analysis' },
        'UTC',
        at('2025-08-12T00:00:00Z'),
      ),
    ).toBeNull();
  });
});

describe('helpers', () => {
  it('knows IANA zones and refuses others', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
  });

  it('reads the local date of an instant', () => {
    expect(localDate(at('2025-08-12T23:30:00Z'), 'UTC')).toBe('2025-08-12');
    expect(localDate(at('2025-08-12T23:30:00Z'), 'Europe/Berlin')).toBe('2025-08-13');
  });

  it('anchors every N days at the local date it was made, and checks dates and times', () => {
    expect(
      anchorRecurrence(
        { kind: 'every_n_days', days: 2, at: '09:00' },
        'Asia/Tokyo',
        at('2025-08-12T20:00:00Z'),
      ),
    ).toEqual({ kind: 'every_n_days', days: 2, at: '09:00', from: '2025-08-13' });
    expect(() =>
      anchorRecurrence({ kind: 'once', date: '2025-02-29', at: '09:00' }, 'UTC', at('2025-01-01')),
    ).toThrow(RangeError);
  });

  it('describes a recurrence in words', () => {
    expect(describeRecurrence({ kind: 'weekdays', at: '09:00' }, 'UTC')).toBe(
      'weekdays at 09:00 UTC',
    );
  });
});
