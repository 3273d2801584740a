/** Tables of the dashboard's server side (migration 0013_badges). */
export interface ProjectBadgesTable {
  org_id: string;
  project_id: string;
  token_hash: Buffer;
  token_sealed: string;
  created_at: Date;
}

export interface EventTicketsTable {
  org_id: string;
  ticket_hash: Buffer;
  user_id: string;
  session_id: string;
  expires_at: Date;
}

export interface WebTables {
  project_badges: ProjectBadgesTable;
  event_tickets: EventTicketsTable;
}
