/** An activity's status; `done` activities leave the schedule. */
export const ACTIVITY_STATUSES = [
  'pending',
  'ready',
  'waiting',
  'in_progress',
  'done',
  'blocked',
] as const;
export type ActivityStatus = (typeof ACTIVITY_STATUSES)[number];
