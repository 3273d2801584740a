import type { Kysely } from 'kysely';
import type { Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import type { Mitigation } from '../../db/types-coordination.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import { riskSignal, type RiskLinks, type SignalEvidence } from '../../domain/risk-signal.ts';
import { BadInput, Conflict, NotFound } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { loadQualityConfig } from '../gates/gates.queries.ts';
import { inIssue, type IssueScope } from '../scope.ts';
import { signalEvidence } from './risk-signals.ts';
import {
  findRisk,
  insertRisk,
  listRisks,
  updateRiskAt,
  type Risk,
  type RiskFields,
  type RiskStatus,
  type Severity,
} from './risks.queries.ts';

function linksOf(links: RiskLinks) {
  return {
    categories: [...(links.categories ?? [])],
    gates: [...(links.gates ?? [])],
    tests: [...(links.tests ?? [])],
  };
}

function riskOut(r: Risk, evidence: SignalEvidence) {
  const links = r.links as RiskLinks;
  return {
    id: r.id,
    severity: r.severity,
    title: r.title,
    description: r.description,
    links: linksOf(links),
    status: r.status,
    mitigations: r.mitigations,
    version: r.version,
    signal: riskSignal(links, evidence),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Linked categories and gates must exist in the project's quality configuration. */
function checkLinks(links: RiskLinks | undefined, config: QualityConfig): void {
  if (links === undefined) return;
  const errors: { path: string; message: string }[] = [];
  const categories = new Set(config.categories.map((c) => c.name));
  const gates = new Set(config.gates.map((g) => g.key));
  (links.categories ?? []).forEach((c, i) => {
    if (!categories.has(c))
      errors.push({
        path: `body/links/categories/${i}`,
        message: `names no category of this project ("${c}")`,
      });
  });
  (links.gates ?? []).forEach((g, i) => {
    if (!gates.has(g))
      errors.push({
        path: `body/links/gates/${i}`,
        message: `names no gate of this project ("${g}")`,
      });
  });
  if (errors.length > 0)
    throw new BadInput(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
}

interface MitigationInput {
  text: string;
  status: string;
  ownerRole?: string | undefined;
}

const mitigationsOf = (list: MitigationInput[]): Mitigation[] =>
  list.map((m) => ({
    text: m.text,
    status: m.status,
    ...(m.ownerRole === undefined ? {} : { ownerRole: m.ownerRole }),
  }));

export interface RiskInput {
  severity: Severity;
  title: string;
  description?: string | undefined;
  links?: RiskLinks | undefined;
  status?: RiskStatus | undefined;
  mitigations?: MitigationInput[] | undefined;
}

export function createRiskService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  return {
    /** Raises a risk; its links are checked against the project's quality configuration. */
    create(caller: Caller, scope: IssueScope, input: RiskInput) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { project, issue }) => {
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        checkLinks(input.links, config);
        const risk = await insertRisk(
          trx,
          ctx.orgId,
          issue.id,
          {
            severity: input.severity,
            title: input.title,
            description: input.description ?? '',
            links: linksOf(input.links ?? {}),
            status: input.status ?? 'open',
            mitigations: mitigationsOf(input.mitigations ?? []),
          },
          clock.now(),
        );
        await ctx.audit({
          action: 'risk.created',
          targetType: 'risk',
          targetId: risk.id,
          data: { number: scope.number, severity: risk.severity, title: risk.title },
        });
        return riskOut(risk, await signalEvidence(trx, ctx.orgId, project.id, issue.id, config));
      });
    },

    /** The issue's risks, each with its live signal. */
    list(caller: Caller, scope: IssueScope, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { project, issue }) => {
        const rows = await listRisks(trx, ctx.orgId, issue.id, { limit: page.limit + 1, after });
        const evidence = await signalEvidence(trx, ctx.orgId, project.id, issue.id);
        return toPage(
          rows,
          page.limit,
          (r) => r.id,
          (r) => riskOut(r, evidence),
        );
      });
    },

    get(caller: Caller, scope: IssueScope & { id: string }) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { project, issue }) => {
        const risk = await findRisk(trx, ctx.orgId, issue.id, scope.id);
        if (risk === undefined) throw new NotFound('Risk not found');
        return riskOut(risk, await signalEvidence(trx, ctx.orgId, project.id, issue.id));
      });
    },

    /**
     * Changes a risk read at `version`; one changed since is a 409 with the version it is
     * at now (read it again, then retry).
     */
    update(
      caller: Caller,
      scope: IssueScope & { id: string },
      input: Partial<RiskInput> & { version: number },
    ) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { project, issue }) => {
        const current = await findRisk(trx, ctx.orgId, issue.id, scope.id);
        if (current === undefined) throw new NotFound('Risk not found');
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        checkLinks(input.links, config);
        const changes: Partial<RiskFields> = {
          ...(input.severity === undefined ? {} : { severity: input.severity }),
          ...(input.title === undefined ? {} : { title: input.title }),
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.links === undefined ? {} : { links: linksOf(input.links) }),
          ...(input.status === undefined ? {} : { status: input.status }),
          ...(input.mitigations === undefined
            ? {}
            : { mitigations: mitigationsOf(input.mitigations) }),
        };
        const risk = await updateRiskAt(
          trx,
          ctx.orgId,
          current.id,
          input.version,
          changes,
          clock.now(),
        );
        if (risk === undefined) {
          // Read again: a change that won a race with this one committed after `current`.
          const latest = (await findRisk(trx, ctx.orgId, issue.id, scope.id)) ?? current;
          throw new Conflict(
            `The risk changed since version ${input.version}: it is at version ${latest.version}; read it again and retry`,
          );
        }
        await ctx.audit({
          action: 'risk.updated',
          targetType: 'risk',
          targetId: risk.id,
          data: {
            number: scope.number,
            fromVersion: input.version,
            fields: Object.keys(changes),
            ...(changes.status === undefined ? {} : { status: changes.status }),
          },
        });
        return riskOut(risk, await signalEvidence(trx, ctx.orgId, project.id, issue.id, config));
      });
    },
  };
}
