/**
 * Persistence of the cluster PKI in a local directory.
 *
 * The material is generated exactly once per cluster: regenerating a CA (or the SA key)
 * under a running cluster would break every node and token, so a partially present
 * directory is an error rather than something to repair silently.
 */
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readStateText } from '../state/files.js';
import { checkPrivateDir, ensurePrivateDir } from '../state/paths.js';
import { fsError, removeStaleTemps } from '../state/safe-fs.js';
import { caCertHash, generatePkiStaged, newVrrpPassword, type StagedPki } from './generate.js';
import type { ClusterPki, PkiOptions } from './types.js';

/** File names mirror kubeadm's /etc/kubernetes/pki so the directory is recognisable. */
export const PKI_FILES = [
  'ca.crt',
  'ca.key',
  'etcd-ca.crt',
  'etcd-ca.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'sa.pub',
  'sa.key',
  'admin.crt',
  'admin.key',
  'bootstrap-token',
  'certificate-key',
] as const;
export type PkiFile = (typeof PKI_FILES)[number];
type PkiFiles = Record<PkiFile, string>;

/**
 * Secrets added after the first release: a PKI directory of an older nkd lacks them, and gets them
 * generated on its next deploy (no running node depends on a secret that did not exist).
 */
export const VRRP_PASSWORD_FILE = 'vrrp-password';
const VRRP_PASSWORD_RE = /^[A-Za-z0-9]{8}$/;

/** The stored PKI is unusable as it is (incomplete or inconsistent); a person must decide what to do. */
export class PkiStateError extends Error {
  override name = 'PkiStateError';
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CERT_KEY_RE = /^[0-9a-f]{64}$/;

function toFiles(pki: ClusterPki): PkiFiles {
  return {
    'ca.crt': pki.clusterCa.certPem,
    'ca.key': pki.clusterCa.keyPem,
    'etcd-ca.crt': pki.etcdCa.certPem,
    'etcd-ca.key': pki.etcdCa.keyPem,
    'front-proxy-ca.crt': pki.frontProxyCa.certPem,
    'front-proxy-ca.key': pki.frontProxyCa.keyPem,
    'sa.pub': pki.serviceAccount.publicKeyPem,
    'sa.key': pki.serviceAccount.privateKeyPem,
    'admin.crt': pki.admin.certPem,
    'admin.key': pki.admin.keyPem,
    'bootstrap-token': `${pki.bootstrapToken}\n`,
    'certificate-key': `${pki.certificateKey}\n`,
  };
}

/** Keys are normalised to PKCS#8 / SPKI so the ClusterPki contract holds even for hand-placed files. */
function pkcs8(pem: string): string {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function spki(pem: string): string {
  return createPublicKey(pem).export({ type: 'spki', format: 'pem' }) as string;
}

function fromFiles(files: PkiFiles): ClusterPki {
  return {
    clusterCa: { certPem: files['ca.crt'], keyPem: pkcs8(files['ca.key']) },
    etcdCa: { certPem: files['etcd-ca.crt'], keyPem: pkcs8(files['etcd-ca.key']) },
    frontProxyCa: { certPem: files['front-proxy-ca.crt'], keyPem: pkcs8(files['front-proxy-ca.key']) },
    serviceAccount: { publicKeyPem: spki(files['sa.pub']), privateKeyPem: pkcs8(files['sa.key']) },
    admin: { certPem: files['admin.crt'], keyPem: pkcs8(files['admin.key']) },
    bootstrapToken: files['bootstrap-token'].trim(),
    certificateKey: files['certificate-key'].trim(),
    caCertHash: caCertHash(files['ca.crt']),
    vrrpPassword: '', // read separately: older PKI directories lack it (readVrrpPassword)
  };
}

/** The VRRP password, or '' when the directory is an older nkd's that has none yet. */
async function readVrrpPassword(dir: string): Promise<string> {
  const path = join(dir, VRRP_PASSWORD_FILE);
  if (!(await exists(path))) return '';
  return (await readStateText(path, 'the cluster PKI file')).trim();
}

/** Checks that certs and keys belong together, so a corrupted or mixed-up directory fails loudly. */
function validate(pki: ClusterPki): void {
  const pairs: [string, { certPem: string; keyPem: string }][] = [
    ['ca', pki.clusterCa],
    ['etcd-ca', pki.etcdCa],
    ['front-proxy-ca', pki.frontProxyCa],
    ['admin', pki.admin],
  ];
  for (const [name, pair] of pairs) {
    if (!new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem))) {
      throw new Error(`${name}.key does not match ${name}.crt`);
    }
  }
  const ca = new X509Certificate(pki.clusterCa.certPem);
  const admin = new X509Certificate(pki.admin.certPem);
  if (!admin.checkIssued(ca) || !admin.verify(ca.publicKey)) {
    throw new Error('admin.crt is not signed by ca.crt');
  }
  if (spki(pki.serviceAccount.privateKeyPem) !== pki.serviceAccount.publicKeyPem) {
    throw new Error('sa.pub does not match sa.key');
  }
  if (!TOKEN_RE.test(pki.bootstrapToken)) throw new Error('bootstrap-token is not [a-z0-9]{6}.[a-z0-9]{16}');
  if (!CERT_KEY_RE.test(pki.certificateKey)) throw new Error('certificate-key is not 64 hex characters');
  if (pki.vrrpPassword !== '' && !VRRP_PASSWORD_RE.test(pki.vrrpPassword))
    throw new Error(`${VRRP_PASSWORD_FILE} is not 8 characters of [A-Za-z0-9]`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path); // a link counts as present: reading it then refuses it
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Writes via a 0600 temp file in the same directory and rename(), so a crash never leaves a
 * truncated key behind and the secret is never readable by others, even briefly.
 */
async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', FILE_MODE);
    try {
      await fh.writeFile(data);
      await fh.chmod(FILE_MODE); // the umask may have narrowed it further; make it exact
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** fsync the directory so the renames themselves survive a crash (best effort: not all platforms allow it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Durability nicety only; the data files themselves were already fsynced.
  }
}

async function readPki(dir: string): Promise<ClusterPki> {
  // Through the state reader: never a link, never a file another user made (trust.ts).
  const contents = await Promise.all(
    PKI_FILES.map((name) => readStateText(join(dir, name), 'the cluster PKI file')),
  );
  const files = Object.fromEntries(PKI_FILES.map((name, i) => [name, contents[i]])) as PkiFiles;
  const vrrpPassword = await readVrrpPassword(dir);
  try {
    const pki = { ...fromFiles(files), vrrpPassword };
    validate(pki);
    return pki;
  } catch (err) {
    throw new PkiStateError(`PKI in ${dir} is invalid: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes the whole PKI into a fresh directory next to `dir`, then renames it onto `dir` (empty): an
 * interrupted run leaves either no PKI or a complete one, never the "incomplete" state a re-run refuses.
 */
async function writePki(dir: string, pki: ClusterPki): Promise<void> {
  const files = toFiles(pki);
  const staging = join(dirname(dir), `.${basename(dir)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(staging, { mode: DIR_MODE });
    await Promise.all(PKI_FILES.map((name) => writeFileAtomic(join(staging, name), files[name])));
    await writeFileAtomic(join(staging, VRRP_PASSWORD_FILE), `${pki.vrrpPassword}\n`);
    await syncDir(staging);
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw fsError(err, 'write the cluster PKI in', dir);
  }
  await syncDir(dirname(dir));
}

/** An older nkd's PKI directory gets the secret added since (0600, atomically). */
async function addVrrpPassword(dir: string, pki: ClusterPki): Promise<ClusterPki> {
  const vrrpPassword = newVrrpPassword();
  try {
    await writeFileAtomic(join(dir, VRRP_PASSWORD_FILE), `${vrrpPassword}\n`);
  } catch (err) {
    throw fsError(err, 'write the VRRP password in', dir);
  }
  await syncDir(dir);
  return { ...pki, vrrpPassword };
}

export interface StagedPkiResult extends StagedPki {
  created: boolean;
}

/**
 * Loads the cluster PKI from `dir`, or starts generating it if the directory holds none: `complete`
 * resolves once the material is generated and persisted. Never regenerates existing material; throws
 * if only some of the files are present.
 */
export async function loadOrCreatePkiStaged(dir: string, opts: PkiOptions = {}): Promise<StagedPkiResult> {
  ensurePrivateDir(dir); // 0700, and refuses a link or a directory nkd may not trust

  const present = await Promise.all(PKI_FILES.map((name) => exists(join(dir, name))));
  const missing = PKI_FILES.filter((_, i) => !present[i]);

  if (missing.length === 0) {
    let pki = await readPki(dir);
    if (pki.vrrpPassword === '') pki = await addVrrpPassword(dir, pki);
    await Promise.all([...PKI_FILES, VRRP_PASSWORD_FILE].map((name) => chmod(join(dir, name), FILE_MODE)));
    return { partial: pki, complete: Promise.resolve(pki), created: false };
  }
  if (missing.length < PKI_FILES.length) {
    throw new PkiStateError(
      `PKI in ${dir} is incomplete, missing: ${missing.join(', ')}. ` +
        'Refusing to regenerate: new CAs would break an existing cluster. Restore the missing files, ' +
        'or delete the directory if no cluster was ever deployed with it.',
    );
  }

  removeStaleTemps(dir); // an older nkd's interrupted writes; the directory is renamed over when complete
  const staged = await generatePkiStaged(opts);
  const complete = staged.complete.then(async (pki) => {
    await writePki(dir, pki);
    return pki;
  });
  complete.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  return { partial: staged.partial, complete, created: true };
}

/** Loads the cluster PKI from `dir`, or generates and persists it if the directory holds none. */
export async function loadOrCreatePki(
  dir: string,
  opts: PkiOptions = {},
): Promise<{ pki: ClusterPki; created: boolean }> {
  const staged = await loadOrCreatePkiStaged(dir, opts);
  return { pki: await staged.complete, created: staged.created };
}

/** Loads an existing, complete cluster PKI; never creates one (commands working from state alone). */
export async function loadPki(dir: string): Promise<ClusterPki> {
  checkPrivateDir(dir);
  const present = await Promise.all(PKI_FILES.map((name) => exists(join(dir, name))));
  const missing = PKI_FILES.filter((_, i) => !present[i]);
  if (missing.length > 0) {
    throw new PkiStateError(
      missing.length === PKI_FILES.length
        ? `no cluster PKI in ${dir}`
        : `PKI in ${dir} is incomplete, missing: ${missing.join(', ')}`,
    );
  }
  return readPki(dir);
}
