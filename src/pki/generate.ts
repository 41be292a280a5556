/**
 * Generation of the cluster PKI with WebCrypto + @peculiar/x509.
 *
 * @peculiar/x509 (and reflect-metadata, which it needs) is imported lazily inside
 * generatePki(): it is only needed once per cluster, and loading it on every CLI start
 * would cost start-up time. The helpers that only read certificates use node:crypto.
 */
import { createHash, randomBytes, randomInt, webcrypto, X509Certificate } from 'node:crypto';

export { derToPem } from './crypto.js';
import type * as X509 from '@peculiar/x509';
import {
  addYears,
  derToPem,
  EC_SIGNING,
  generateEcKeyPair,
  loadX509,
  privateKeyPem,
  randomSerial,
  type KeyPair,
  type X509Lib,
} from './crypto.js';
import type { CertAndKey, ClusterPki, PkiOptions } from './types.js';

// CAs and the admin certificate use ECDSA P-256: kubeadm loads RSA or ECDSA CA keys, and an EC key
// costs a millisecond where an RSA-2048 key costs 0.2-1.2 s here. The service-account key stays
// RSA-2048 because kubeadm before 1.31 only accepts an RSA sa.key.
const RSA_KEYGEN: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const SIGNING_ALGORITHM = EC_SIGNING;

// Backdate notBefore like kubeadm does, so nodes whose clocks lag slightly still accept the certs.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const CA_VALIDITY_YEARS = 10;
const ADMIN_VALIDITY_YEARS = 1;

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `sha256:<hex>` of the certificate's DER SubjectPublicKeyInfo (kubeadm `caCertHashes`). */
export function caCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Expiry of a PEM certificate (used for expiry warnings and renewal planning). */
export function certNotAfter(certPem: string): Date {
  // Node 20 lacks validToDate; validTo is "Mon DD HH:MM:SS YYYY GMT", which Date parses.
  const notAfter = new Date(new X509Certificate(certPem).validTo);
  if (Number.isNaN(notAfter.getTime())) throw new Error('certificate has an unparseable notAfter');
  return notAfter;
}

/** Uniform random string over [a-z0-9] (randomInt avoids modulo bias). */
function randomToken(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += TOKEN_ALPHABET.charAt(randomInt(TOKEN_ALPHABET.length));
  return out;
}

export function newBootstrapToken(): string {
  return `${randomToken(6)}.${randomToken(16)}`;
}

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** VRRPv2 PASS authentication compares at most 8 characters: all 8 are random. */
export function newVrrpPassword(): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += PASSWORD_ALPHABET.charAt(randomInt(PASSWORD_ALPHABET.length));
  return out;
}

export function newCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

function generateRsaKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(RSA_KEYGEN, true, ['sign', 'verify']) as Promise<KeyPair>;
}

async function publicKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return derToPem(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

interface IssuedCa {
  pair: CertAndKey;
  cert: X509.X509Certificate;
  keys: KeyPair;
}

async function issueCa(x509: X509Lib, keys: KeyPair, commonName: string, now: Date): Promise<IssuedCa> {
  const usages =
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: addYears(now, CA_VALIDITY_YEARS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pair = {
    certPem: derToPem(cert.rawData, 'CERTIFICATE'),
    keyPem: await privateKeyPem(keys.privateKey),
  };
  return { pair, cert, keys };
}

async function issueAdmin(x509: X509Lib, ca: IssuedCa, keys: KeyPair, now: Date): Promise<CertAndKey> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // system:masters bypasses RBAC: this is the deployer's break-glass credential.
    subject: 'O=system:masters, CN=nkd-admin', // same RDN order as kubeadm's certs
    // Reuse the CA's encoded Name so issuer/subject chaining is byte-exact.
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: addYears(now, ADMIN_VALIDITY_YEARS),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // keyEncipherment is an RSA-only usage; an EC client certificate only signs.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { certPem: derToPem(cert.rawData, 'CERTIFICATE'), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A PKI generated in two stages: everything but the service-account key is ready at once; the RSA
 * service-account key (the slow part) follows in `complete`. `partial.serviceAccount` throws if read,
 * so code that may run early (rendering workers, which never get it) cannot use it by mistake.
 */
export interface StagedPki {
  partial: ClusterPki;
  complete: Promise<ClusterPki>;
}

const SERVICE_ACCOUNT_PENDING: ClusterPki['serviceAccount'] = {
  get publicKeyPem(): string {
    throw new Error('pki: the service-account key is still being generated');
  },
  get privateKeyPem(): string {
    throw new Error('pki: the service-account key is still being generated');
  },
};

async function serviceAccountKeys(): Promise<ClusterPki['serviceAccount']> {
  const keys = await generateRsaKeyPair();
  const [publicKey, privateKey] = await Promise.all([
    publicKeyPem(keys.publicKey),
    privateKeyPem(keys.privateKey),
  ]);
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

export async function generatePkiStaged(opts: PkiOptions = {}): Promise<StagedPki> {
  const now = opts.now ?? new Date();
  // The RSA key runs on the libuv pool while everything else (and the caller's work) goes on.
  const serviceAccount = serviceAccountKeys();
  serviceAccount.catch(() => undefined); // awaited through `complete`; never an unhandled rejection
  const [x509, clusterKeys, etcdKeys, frontProxyKeys, adminKeys] = await Promise.all([
    loadX509(),
    generateEcKeyPair(),
    generateEcKeyPair(),
    generateEcKeyPair(),
    generateEcKeyPair(),
  ]);
  const [clusterCa, etcdCa, frontProxyCa] = await Promise.all([
    issueCa(x509, clusterKeys, 'kubernetes', now),
    issueCa(x509, etcdKeys, 'etcd-ca', now),
    issueCa(x509, frontProxyKeys, 'front-proxy-ca', now),
  ]);
  const admin = await issueAdmin(x509, clusterCa, adminKeys, now);
  const partial: ClusterPki = {
    clusterCa: clusterCa.pair,
    etcdCa: etcdCa.pair,
    frontProxyCa: frontProxyCa.pair,
    serviceAccount: SERVICE_ACCOUNT_PENDING,
    admin,
    bootstrapToken: newBootstrapToken(),
    certificateKey: newCertificateKey(),
    vrrpPassword: newVrrpPassword(),
    caCertHash: caCertHash(clusterCa.pair.certPem),
  };
  return { partial, complete: serviceAccount.then((sa) => ({ ...partial, serviceAccount: sa })) };
}

/** Generates a complete, fresh cluster PKI. Call once per cluster; persist with loadOrCreatePki. */
export async function generatePki(opts: PkiOptions = {}): Promise<ClusterPki> {
  return (await generatePkiStaged(opts)).complete;
}
