// Fetches a user's manifest from an https:// URL. Deliberately small: GET only, https only (also after
// a redirect, so a server cannot downgrade us to plain http), at most 3 redirects, one deadline for the
// whole exchange, and a cap on the size, since the body is held in memory and parsed as YAML.
import { request } from 'node:https';

export const MANIFEST_FETCH_TIMEOUT_MS = 30_000;
export const MANIFEST_MAX_REDIRECTS = 3;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface HttpsFetchOptions {
  /** Extra trust anchor (PEM) instead of the system's CAs; tests use it for a loopback server. */
  ca?: string;
  timeoutMs?: number;
  maxRedirects?: number;
}

/** GETs `url` and resolves with the body. Rejects with an Error whose message is one line. */
export async function httpsFetch(url: string, options: HttpsFetchOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? MANIFEST_FETCH_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? MANIFEST_MAX_REDIRECTS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let current = new URL(url);
    for (let redirects = 0; ; redirects++) {
      if (current.protocol !== 'https:') {
        throw new Error(`refusing ${current.protocol}// (only https:// is fetched): ${current.href}`);
      }
      const res = await getOnce(current, options.ca, controller.signal);
      if (res.location === undefined) return res.body;
      if (redirects >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
      current = new URL(res.location, current);
    }
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`no complete answer within ${timeoutMs / 1000} s`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function getOnce(
  url: URL,
  ca: string | undefined,
  signal: AbortSignal,
): Promise<{ body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        signal,
        // A one-off agent: no kept-alive socket outlives the fetch.
        agent: false,
        ...(ca ? { ca } : {}),
        headers: { Accept: 'application/yaml, application/json, text/plain, */*', 'User-Agent': 'nkd' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          const location = res.headers.location;
          if (!location) reject(new Error(`HTTP ${status} without a Location header`));
          else resolve({ body: '', location });
          return;
        }
        if (status < 200 || status > 299) {
          res.resume();
          reject(new Error(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error(`the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
