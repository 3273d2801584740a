import type { ColumnType, Generated } from 'kysely';

type Json<T> = ColumnType<T, string, string>;
/** A `date` column: read as a string (YYYY-MM-DD, see connection.ts), written as one. */
type DateOnly = ColumnType<string, string, string>;

export interface ActivitiesTable {
  org_id: string;
  id: string;
  issue_id: string;
  key: string;
  title: string;
  owner_role: string;
  owner_user_id: string | null;
  status: Generated<'pending' | 'ready' | 'waiting' | 'in_progress' | 'done' | 'blocked'>;
  min_days: number;
  max_days: number;
  likely_days: number | null;
  deliverable: string | null;
  depends_on: Generated<string[]>;
  gates: Generated<string[]>;
  position: Generated<number>;
  started_at: Date | null;
  done_at: Date | null;
  version: Generated<number>;
  created_at: Date;
  updated_at: Date;
}

export interface EscalationLevel {
  role: string;
  ackWithinHours: number;
}

export interface EscalationChainsTable {
  org_id: string;
  project_id: string;
  levels: Json<EscalationLevel[]>;
  updated_at: Date;
}

export interface EscalationsTable {
  org_id: string;
  id: string;
  issue_id: string;
  role: string;
  member_id: string | null;
  reason: string;
  request: Generated<string>;
  questions: Json<{ topic: string; text: string }[]>;
  status: Generated<'open' | 'acknowledged' | 'answered' | 'resolved'>;
  level: Generated<number>;
  ack_within_hours: number;
  answer_within_hours: number;
  ack_due_at: Date;
  answer_due_at: Date;
  paused_at: Date | null;
  paused_seconds: Generated<number>;
  acknowledged_at: Date | null;
  answered_at: Date | null;
  resolved_at: Date | null;
  breached_at: Date | null;
  answer: string | null;
  activity_id: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface Mitigation {
  text: string;
  status: string;
  ownerRole?: string;
}

export interface RisksTable {
  org_id: string;
  id: string;
  issue_id: string;
  severity: 'high' | 'medium' | 'low';
  title: string;
  description: Generated<string>;
  links: Json<{ categories?: string[]; gates?: string[]; tests?: string[] }>;
  status: Generated<'open' | 'mitigated' | 'closed'>;
  mitigations: Json<Mitigation[]>;
  version: Generated<number>;
  created_at: Date;
  updated_at: Date;
}

export interface CheckpointsTable {
  org_id: string;
  id: string;
  issue_id: string;
  title: string;
  recurrence: Json<Record<string, unknown>>;
  owner_role: string | null;
  time_zone: Generated<string>;
  next_due_at: Date | null;
  last_due_at: Date | null;
  last_completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NotesTable {
  org_id: string;
  id: string;
  issue_id: string;
  kind: string;
  text: string;
  author: string;
  created_at: Date;
}

export interface CommunicationsTable {
  org_id: string;
  id: string;
  issue_id: string | null;
  channel: string;
  external_id: string | null;
  audience: string;
  summary: string;
  status: string | null;
  ref_type: string | null;
  ref_id: string | null;
  recorded_by: string;
  created_at: Date;
}

export interface WebhooksTable {
  org_id: string;
  id: string;
  url: string;
  events: string[];
  format: Generated<'standard' | 'slack'>;
  /** Encrypted at rest with the SecretBox. */
  secret: string;
  active: Generated<boolean>;
  created_by: string;
  created_at: Date;
}

export interface WebhookDeliveriesTable {
  org_id: string;
  id: string;
  webhook_id: string;
  event_type: string;
  event_id: string;
  payload: Json<Record<string, unknown>>;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  response_status: number | null;
  error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface GithubLinksTable {
  org_id: string;
  project_id: string;
  repo: string;
  api_url: string;
  /** Encrypted at rest with the SecretBox. */
  token: string;
  /** Encrypted at rest with the SecretBox. */
  webhook_secret: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface GithubCommentsTable {
  org_id: string;
  issue_id: string;
  comment_id: ColumnType<string, string | number, string | number>;
  url: string | null;
  content_hash: string;
  synced_at: Date;
}

export interface CoordinationTables {
  activities: ActivitiesTable;
  escalation_chains: EscalationChainsTable;
  escalations: EscalationsTable;
  risks: RisksTable;
  checkpoints: CheckpointsTable;
  notes: NotesTable;
  communications: CommunicationsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  github_links: GithubLinksTable;
  github_comments: GithubCommentsTable;
}

export type { DateOnly };
