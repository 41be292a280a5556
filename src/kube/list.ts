// Lists read page by page (limit/continue), so a thousand nodes or pods never come as one huge answer.
import { KubeApiError } from './errors.js';
import type { KubeClient } from './client.js';

export const DEFAULT_PAGE_SIZE = 500;

export interface ListOptions {
  /** Query parameters besides limit/continue (fieldSelector, labelSelector, ...). */
  query?: Record<string, string>;
  /** Items per page (default 500). */
  pageSize?: number;
  /** Resolve undefined when the server answers 404 (e.g. a CustomResourceDefinition not installed). */
  allowMissing?: boolean;
}

/** Every item of the list at `path`; undefined only with allowMissing, on a 404. */
export async function listAll<T>(
  client: Pick<KubeClient, 'call' | 'server'>,
  path: string,
  options: ListOptions & { allowMissing: true },
): Promise<T[] | undefined>;
export async function listAll<T>(
  client: Pick<KubeClient, 'call' | 'server'>,
  path: string,
  options?: ListOptions,
): Promise<T[]>;
export async function listAll<T>(
  client: Pick<KubeClient, 'call' | 'server'>,
  path: string,
  options: ListOptions = {},
): Promise<T[] | undefined> {
  const [bare, search] = path.split('?') as [string, string | undefined];
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const params = new URLSearchParams(search);
    for (const [key, value] of Object.entries(options.query ?? {})) params.set(key, value);
    params.set('limit', String(options.pageSize ?? DEFAULT_PAGE_SIZE));
    if (cont) params.set('continue', cont);
    const page = (await client.call('GET', `${bare}?${params.toString()}`, {
      ...(options.allowMissing ? { allowMissing: true } : {}),
    })) as { items?: unknown; metadata?: { continue?: string } } | undefined;
    // A 404 on a later page would mean the resource vanished mid-listing: report it as missing too.
    if (page === undefined && options.allowMissing) return undefined;
    if (!page || !Array.isArray(page.items)) {
      throw new KubeApiError(`${client.server}: GET ${bare} did not return a list`, 'protocol');
    }
    items.push(...(page.items as T[]));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}
