import type { Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import type { Mitigation, RisksTable } from '../../db/types-coordination.ts';
import type { RiskLinks } from '../../domain/risk-signal.ts';

export type Risk = Selectable<RisksTable>;
export type Severity = Risk['severity'];
export type RiskStatus = Risk['status'];

export interface RiskFields {
  severity: Severity;
  title: string;
  description: string;
  links: RiskLinks;
  status: RiskStatus;
  mitigations: Mitigation[];
}

export function insertRisk(db: Executor, orgId: string, issueId: string, r: RiskFields, now: Date) {
  return db
    .insertInto('risks')
    .values({
      org_id: orgId,
      id: uuidv7(),
      issue_id: issueId,
      severity: r.severity,
      title: r.title,
      description: r.description,
      links: JSON.stringify(r.links),
      status: r.status,
      mitigations: JSON.stringify(r.mitigations),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The issue's risks in the order they were raised, after the cursor id. */
export function listRisks(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; after?: string | undefined },
) {
  let q = db
    .selectFrom('risks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  if (page.after !== undefined) q = q.where('id', '>', page.after);
  return q.orderBy('id').limit(page.limit).execute();
}

export function findRisk(db: Executor, orgId: string, issueId: string, id: string) {
  return db
    .selectFrom('risks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Applies the changes only if the risk is still at `version` (optimistic locking), and
 * moves it to the next version. Undefined: the risk changed since (or is gone).
 */
export function updateRiskAt(
  db: Executor,
  orgId: string,
  id: string,
  version: number,
  changes: Partial<RiskFields>,
  now: Date,
) {
  return db
    .updateTable('risks')
    .set((eb) => ({
      ...(changes.severity === undefined ? {} : { severity: changes.severity }),
      ...(changes.title === undefined ? {} : { title: changes.title }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.links === undefined ? {} : { links: JSON.stringify(changes.links) }),
      ...(changes.status === undefined ? {} : { status: changes.status }),
      ...(changes.mitigations === undefined
        ? {}
        : { mitigations: JSON.stringify(changes.mitigations) }),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}
