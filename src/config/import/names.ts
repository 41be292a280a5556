// Names the original accepted but nkd (Kubernetes, really) does not: cluster IDs and hostnames must be
// DNS-1123 labels, because they end up in node names, certificates and resource names.

/**
 * Lower-cases, turns every run of other characters into one "-", trims "-" from both ends and cuts
 * to `max` characters. Returns "" when nothing usable is left.
 */
export function toDnsLabel(name: string, max: number): string {
  const dashed = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return dashed.slice(0, max).replace(/-+$/, '');
}
