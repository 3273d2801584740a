import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

/** A resource's name under its org: 'members', or a path such as ['webhooks', id, 'deliveries']. */
export type ResourceKey = string | readonly string[];

const keyOf = (org: string, key: ResourceKey) => [
  'org',
  org,
  ...(typeof key === 'string' ? [key] : key),
];

/**
 * One of an organization's resources (its members, invitations, webhooks...) read
 * through the query cache under `['org', org, ...key]`.
 */
export function useOrgQuery<T>(org: string, key: ResourceKey, read: () => Promise<T>) {
  return useQuery({ queryKey: keyOf(org, key), queryFn: read });
}

/**
 * A change to one of an organization's resources. On success the resource is read again
 * before the mutation settles (so a caller closing a dialog then sees the new list), and
 * so is the audit log, since every change is audited.
 */
export function useOrgMutation<V, T>(
  org: string,
  key: ResourceKey,
  write: (vars: V) => Promise<T>,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: write,
    onSuccess: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: keyOf(org, key) }),
        client.invalidateQueries({ queryKey: ['org', org, 'audit'] }),
      ]),
  });
}
