// The rule for a cluster name, shared by the config (metadata.name) and every command taking a cluster
// NAME: the name becomes a directory of the state, so nothing else may ever reach the file system.
export const CLUSTER_NAME_MAX = 40;
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MESSAGE =
  'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending alphanumeric';

/** Why `name` is not a valid cluster name, or undefined when it is. */
export function clusterNameProblem(name: string): string | undefined {
  if (name.length > CLUSTER_NAME_MAX) return `must be at most ${CLUSTER_NAME_MAX} characters`;
  if (!DNS_LABEL.test(name)) return DNS_LABEL_MESSAGE;
  return undefined;
}
