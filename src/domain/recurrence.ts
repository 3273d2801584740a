/**
 * When a checkpoint is next due. Times of day are local to the checkpoint's time zone
 * (IANA names, read through Intl), so "09:00 daily in Europe/Berlin" stays at nine on the
 * wall clock across daylight-saving changes. Pure: no clock, `after` is passed in.
 */

/** How often a checkpoint comes due. `at` is a local time of day, "HH:MM" (24 h). */
export type Recurrence =
  /** Fired by the activity of the same issue with this key becoming done; never by the clock. */
  | { kind: 'activity_done'; activity: string }
  | { kind: 'daily'; at: string }
  /** Monday to Friday in the checkpoint's time zone. */
  | { kind: 'weekdays'; at: string }
  /** Every `days` days counted from the local date `from` (YYYY-MM-DD), at `at`. */
  | { kind: 'every_n_days'; days: number; at: string; from: string }
  /** Once, on a local date (YYYY-MM-DD) at `at`. */
  | { kind: 'once'; date: string; at: string };

export type RecurrenceKind = Recurrence['kind'];

/** A recurrence as a client gives it: "every N days" may leave out where it counts from. */
export type RecurrenceInput =
  | Exclude<Recurrence, { kind: 'every_n_days' }>
  | { kind: 'every_n_days'; days: number; at: string; from?: string | undefined };

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the IANA time zone name (e.g. "Europe/Berlin", "UTC"). */
export function isTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== null;
}

/** The zone's canonical IANA spelling ("europe/berlin" → "Europe/Berlin"), null if unknown. */
export function canonicalTimeZone(timeZone: string): string | null {
  try {
    return formatter(timeZone).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The wall-clock fields of an instant in a time zone. */
function wallClock(instant: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts['year']!,
    month: parts['month']!,
    day: parts['day']!,
    hour: parts['hour']!,
    minute: parts['minute']!,
    second: parts['second']!,
  };
}

/** The zone's offset from UTC at an instant, in ms (east positive), to the second. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** A calendar date as days since 1970-01-01 (the zone plays no part in calendar arithmetic). */
type DayNumber = number;

function parseDate(date: string): DayNumber {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(ms);
  if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3]))
    throw new RangeError(`no such date: ${date}`);
  return ms / DAY_MS;
}

function parseTime(at: string): { hour: number; minute: number } {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (m === null) throw new RangeError(`not a time of day (HH:MM): ${at}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

function formatDay(day: DayNumber): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  const w = wallClock(instant.getTime(), timeZone);
  return formatDay(Date.UTC(w.year, w.month - 1, w.day) / DAY_MS);
}

/**
 * The instant a local date and time of day names in a time zone. A time that does not
 * exist (skipped when clocks go forward) moves forward by the gap, 02:30 becoming 03:30;
 * a time that happens twice (clocks go back) is the first of the two. (Temporal's
 * "compatible" disambiguation, as most calendars do it.)
 */
export function zonedInstant(date: string, at: string, timeZone: string): Date {
  return new Date(instantOf(parseDate(date), parseTime(at), timeZone));
}

function instantOf(
  day: DayNumber,
  time: { hour: number; minute: number },
  timeZone: string,
): number {
  const wall = day * DAY_MS + (time.hour * 60 + time.minute) * 60_000;
  // Offsets a day either side bracket any transition near this wall time.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const fits = [before, after]
    .map((offset) => wall - offset)
    .filter((instant) => offsetAt(instant, timeZone) === wall - instant)
    .sort((a, b) => a - b);
  // No fit: the wall time falls in a gap; read it with the offset from before the gap.
  return fits[0] ?? wall - before;
}

function weekday(day: DayNumber): number {
  // 1970-01-01 was a Thursday (4); 0 is Sunday.
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * The first time after `after` (strictly) that the recurrence comes due in `timeZone`, or
 * null when it never will again (a one-off in the past, or one fired by an activity).
 */
export function nextDue(recurrence: Recurrence, timeZone: string, after: Date): Date | null {
  if (recurrence.kind === 'activity_done') return null;
  const time = parseTime(recurrence.at);
  const t = after.getTime();
  const today = parseDate(localDate(after, timeZone));
  const firstAfter = (days: Iterable<DayNumber>): Date | null => {
    for (const day of days) {
      const instant = instantOf(day, time, timeZone);
      if (instant > t) return new Date(instant);
    }
    return null;
  };
  switch (recurrence.kind) {
    case 'once':
      return firstAfter([parseDate(recurrence.date)]);
    case 'daily':
      // Yesterday too: near midnight across a zone change, the local date can lag.
      return firstAfter(range(today - 1, today + 2));
    case 'weekdays':
      return firstAfter(
        [...range(today - 1, today + 8)].filter((d) => weekday(d) >= 1 && weekday(d) <= 5),
      );
    case 'every_n_days': {
      const from = parseDate(recurrence.from);
      const n = recurrence.days;
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`days must be a whole number ≥ 1`);
      // The occurrence at or just before yesterday, then the next few: one of them is next.
      const k = Math.max(0, Math.floor((today - 1 - from) / n));
      return firstAfter([0, 1, 2, 3].map((i) => from + (k + i) * n));
    }
  }
}

function* range(from: DayNumber, to: DayNumber): Generator<DayNumber> {
  for (let d = from; d <= to; d++) yield d;
}

/**
 * Completes a recurrence as given by a client: "every N days" without a start counts
 * from the local date of `now`. Throws RangeError on a date or time that does not exist.
 */
export function anchorRecurrence(input: RecurrenceInput, timeZone: string, now: Date): Recurrence {
  if (input.kind === 'every_n_days') {
    const from = input.from ?? localDate(now, timeZone);
    parseDate(from);
    parseTime(input.at);
    return { kind: 'every_n_days', days: input.days, at: input.at, from };
  }
  if (input.kind === 'once') parseDate(input.date);
  if (input.kind !== 'activity_done') parseTime(input.at);
  return input;
}

/** How a recurrence reads, e.g. "weekdays at 09:00 Europe/Berlin". */
export function describeRecurrence(r: Recurrence, timeZone: string): string {
  switch (r.kind) {
    case 'activity_done':
      return `when activity ${r.activity} is done`;
    case 'daily':
      return `daily at ${r.at} ${timeZone}`;
    case 'weekdays':
      return `weekdays at ${r.at} ${timeZone}`;
    case 'every_n_days':
      return `every ${r.days} days from ${r.from} at ${r.at} ${timeZone}`;
    case 'once':
      return `once on ${r.date} at ${r.at} ${timeZone}`;
  }
}
