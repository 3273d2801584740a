import { queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, ok } from './client.ts';

export interface IssueProps {
  org: string;
  project: string;
  number: number;
}

export const issueKey = ({ org, project, number }: IssueProps, ...rest: string[]) => [
  'org',
  org,
  'project',
  project,
  'issue',
  number,
  ...rest,
];

export const issuePath = ({ org, project, number }: IssueProps) => ({
  path: { org, project, number },
});

/** The issue page's first three answers, here so they can be asked for before its code loads. */
export const issueQueries = {
  issue: (props: IssueProps) =>
    queryOptions({
      queryKey: issueKey(props),
      queryFn: async () =>
        ok(
          await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}', {
            params: issuePath(props),
          }),
        ),
    }),
  gates: (props: IssueProps) =>
    queryOptions({
      queryKey: issueKey(props, 'gates'),
      queryFn: async () =>
        ok(
          await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/gates', {
            params: issuePath(props),
          }),
        ),
    }),
  report: (props: IssueProps) =>
    queryOptions({
      queryKey: issueKey(props, 'report'),
      queryFn: async () =>
        ok(
          await api.GET('/api/v1/orgs/{org}/projects/{project}/issues/{number}/report.json', {
            params: issuePath(props),
          }),
        ),
    }),
};

/**
 * Asks for an issue's gates, the issue and its report at once: on a page load, as soon as
 * the session is restored, in parallel with the page's code, instead of after the page has
 * rendered.
 */
export function prefetchIssue(client: QueryClient, props: IssueProps): void {
  void client.prefetchQuery(issueQueries.gates(props));
  void client.prefetchQuery(issueQueries.issue(props));
  void client.prefetchQuery(issueQueries.report(props));
}
