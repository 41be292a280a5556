/**
 * TLS material of the deployer's Ignition service: a dedicated CA ("nkd ignition service CA"), kept in
 * the cluster's state, and a short-lived serving certificate issued from it at every start.
 *
 * Only the CA is persisted: its certificate is pinned in every node's pointer config (user data), so it
 * must stay the same across runs for user data to stay stable. The serving certificate is cheap to issue
 * (ECDSA P-256) and is re-issued for whatever addresses the service listens on this time.
 * The CA is separate from the cluster CA: nodes trust it only for fetching their config, and its key
 * never leaves the deployer.
 *
 * @peculiar/x509 is imported lazily, as in src/pki: most CLI runs never need it.
 */
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';
import {
  derToPem,
  EC_KEYGEN,
  EC_SIGNING,
  generateEcKeyPair,
  loadX509,
  privateKeyPem,
  randomSerial,
} from '../pki/crypto.js';
import type { CertAndKey } from '../pki/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { readStateTextSync } from '../state/files.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';

export const SERVICE_CA_COMMON_NAME = 'nkd ignition service CA';
export const SERVICE_CA_FILES = { cert: 'ca.crt', key: 'ca.key' } as const;

const SIGNING_ALGORITHM = EC_SIGNING;
// Backdated like kubeadm does, a little more generously: a freshly booted VM's clock may lag the
// deployer's, and a "not yet valid" serving certificate would fail the node's fetch.
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const CA_VALIDITY_YEARS = 10;
// Re-issued at each start and only used while a deploy runs; a week is far more than any deploy needs.
const SERVING_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

/** Generates a fresh service CA. Persist it with loadOrCreateServiceCa rather than calling this per run. */
export async function generateServiceCa(now: Date = new Date()): Promise<CertAndKey> {
  const [x509, keys] = await Promise.all([loadX509(), generateEcKeyPair()]);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const usages = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${SERVICE_CA_COMMON_NAME}`,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLen 0: this CA only ever signs serving certificates, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(usages, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: derToPem(cert.rawData, 'CERTIFICATE'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** SAN entries for the addresses nodes use to reach the service: IP literals as IPs, the rest as DNS names. */
function subjectAltNames(addresses: readonly string[]): X509.JsonGeneralName[] {
  return addresses.map((address) => {
    const bare = address.replace(/^\[(.*)\]$/, '$1');
    return isIP(bare) !== 0 ? { type: 'ip', value: bare } : { type: 'dns', value: bare };
  });
}

/** Issues a serving certificate from the service CA, valid for `addresses` (IPs and/or DNS names). */
export async function issueServingCert(
  ca: CertAndKey,
  addresses: readonly string[],
  now: Date = new Date(),
): Promise<CertAndKey> {
  if (addresses.length === 0) throw new Error('ignition service: a serving certificate needs an address');
  const [x509, keys] = await Promise.all([loadX509(), generateEcKeyPair()]);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKeyDer = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, EC_KEYGEN, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=nkd ignition service',
    issuer: caCert.subjectName, // the CA's encoded Name, so issuer/subject chaining is byte-exact
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + SERVING_VALIDITY_MS),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // Go (Ignition) ignores the subject CN: the SANs alone decide which names the certificate covers.
      new x509.SubjectAlternativeNameExtension(subjectAltNames(addresses)),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: derToPem(cert.rawData, 'CERTIFICATE'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Throws unless the stored CA is a CA certificate whose key matches. */
function checkServiceCa(ca: CertAndKey, dir: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(ca.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) throw new Error('ca.key does not match ca.crt');
  } catch (err) {
    // The message is nkd's own (never the crypto library's, which may describe the key).
    const what = err instanceof Error && /does not match/.test(err.message) ? err.message : 'unreadable PEM';
    throw new NkdError(`ignition service CA in ${dir} is invalid: ${what}`, ExitCode.State);
  }
  if (!cert.ca) {
    throw new NkdError(
      `ignition service CA in ${dir} is invalid: ca.crt is not a CA certificate`,
      ExitCode.State,
    );
  }
}

/**
 * The stored service CA, checked, or undefined when `dir` holds none; read-only. Throws the state error
 * (exit 4) for a half-present or invalid CA: a new CA would change every node's user data.
 */
export function readServiceCa(dir: string): CertAndKey | undefined {
  const certPath = join(dir, SERVICE_CA_FILES.cert);
  const keyPath = join(dir, SERVICE_CA_FILES.key);
  const [hasCert, hasKey] = [existsSync(certPath), existsSync(keyPath)];
  if (!hasCert && !hasKey) return undefined;
  if (!hasCert || !hasKey) {
    throw new NkdError(
      `ignition service CA in ${dir} is incomplete (only ${hasCert ? 'ca.crt' : 'ca.key'} present). ` +
        'Restore the missing file, or delete both: a new CA changes every node’s user data.',
      ExitCode.State,
    );
  }
  const ca = {
    certPem: readStateTextSync(certPath, 'the Ignition service CA certificate'),
    keyPem: readStateTextSync(keyPath, 'the Ignition service CA key'),
  };
  checkServiceCa(ca, dir);
  return ca;
}

/**
 * Loads the service CA from `dir` (ca.crt, ca.key), or generates and stores it (0600, in a 0700 directory).
 * Never regenerates a half-present CA: a new CA would silently change every node's user data.
 */
export async function loadOrCreateServiceCa(dir: string): Promise<{ ca: CertAndKey; created: boolean }> {
  ensurePrivateDir(dir);
  const stored = readServiceCa(dir);
  if (stored) return { ca: stored, created: false };
  const certPath = join(dir, SERVICE_CA_FILES.cert);
  const keyPath = join(dir, SERVICE_CA_FILES.key);
  const ca = await generateServiceCa();
  // Key first: a crash between the writes then leaves a key without a cert, never a cert whose key is lost.
  writePrivateFile(keyPath, ca.keyPem);
  writePrivateFile(certPath, ca.certPem);
  return { ca, created: true };
}
