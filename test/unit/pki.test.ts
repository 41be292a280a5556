import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  caCertHash,
  certNotAfter,
  generatePki,
  loadOrCreatePki,
  loadPki,
  PKI_FILES,
  renderAdminKubeconfig,
  type ClusterPki,
} from '../../src/pki/index.js';

// Evaluated after the (hoisted) imports: @peculiar/x509 needs reflect-metadata, so if importing
// src/pki had loaded the library eagerly, Reflect.getMetadata would already exist here.
const reflectMetadataLoadedByImport = 'getMetadata' in Reflect;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-pki-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

/** Writes the PKI's PEMs under kubeadm-like names so openssl can read them. */
function writePems(pki: ClusterPki): string {
  const dir = tempDir();
  const files: Record<string, string> = {
    'ca.crt': pki.clusterCa.certPem,
    'etcd-ca.crt': pki.etcdCa.certPem,
    'front-proxy-ca.crt': pki.frontProxyCa.certPem,
    'admin.crt': pki.admin.certPem,
  };
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem);
  return dir;
}

async function opensslVerify(dir: string, caFile: string, certFile: string) {
  return execa('openssl', ['verify', '-CAfile', join(dir, caFile), join(dir, certFile)], { reject: false });
}

let pki: ClusterPki;
beforeAll(async () => {
  pki = await generatePki({});
});

describe('generatePki', () => {
  it('is not loaded with the module: importing src/pki leaves @peculiar/x509 unloaded', () => {
    expect(reflectMetadataLoadedByImport).toBe(false);
    expect('getMetadata' in Reflect).toBe(true); // loaded by the generatePki() in beforeAll
  });

  it.each(['ca.crt', 'etcd-ca.crt', 'front-proxy-ca.crt'])(
    'produces %s that openssl verifies as a root',
    async (ca) => {
      const dir = writePems(pki);
      const result = await opensslVerify(dir, ca, ca);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/: OK$/);
    },
  );

  it('produces an admin cert that openssl verifies against the cluster CA only', async () => {
    const dir = writePems(pki);
    const ok = await opensslVerify(dir, 'ca.crt', 'admin.crt');
    expect(ok.exitCode, ok.stderr).toBe(0);
    const wrongCa = await opensslVerify(dir, 'etcd-ca.crt', 'admin.crt');
    expect(wrongCa.exitCode).not.toBe(0);
  });

  it('marks the three CAs as CA:TRUE with kubeadm subjects', async () => {
    const dir = writePems(pki);
    const cases: [string, string][] = [
      ['ca.crt', 'CN=kubernetes'],
      ['etcd-ca.crt', 'CN=etcd-ca'],
      ['front-proxy-ca.crt', 'CN=front-proxy-ca'],
    ];
    for (const [file, subject] of cases) {
      const text = (await execa('openssl', ['x509', '-noout', '-text', '-in', join(dir, file)])).stdout;
      expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
      expect(text).toContain('Subject Key Identifier');
      expect(new X509Certificate(readFileSync(join(dir, file))).subject).toBe(subject);
    }
  });

  it('issues the admin cert as a clientAuth cert for nkd-admin in system:masters', async () => {
    const dir = writePems(pki);
    const text = (await execa('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'admin.crt')])).stdout;
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toContain('Authority Key Identifier');
    const cert = new X509Certificate(pki.admin.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.subject.split('\n').sort()).toEqual(['CN=nkd-admin', 'O=system:masters']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('computes caCertHash equal to the openssl SPKI pipeline', async () => {
    const dir = writePems(pki);
    const digest = await execa('openssl', ['x509', '-pubkey', '-noout', '-in', join(dir, 'ca.crt')])
      .pipe('openssl', ['pkey', '-pubin', '-outform', 'der'])
      .pipe('openssl', ['dgst', '-sha256', '-hex']);
    const hex = /([0-9a-f]{64})\s*$/.exec(digest.stdout)?.[1];
    expect(hex).toBeDefined();
    expect(pki.caCertHash).toBe(`sha256:${hex}`);
    expect(caCertHash(pki.clusterCa.certPem)).toBe(pki.caCertHash);
  });

  it('emits a kubeadm-shaped bootstrap token and a 32-byte hex certificate key', () => {
    expect(pki.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(pki.certificateKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('emits a VRRP password of 8 characters (all VRRPv2 PASS authentication compares)', () => {
    expect(pki.vrrpPassword).toMatch(/^[A-Za-z0-9]{8}$/);
  });

  it('emits P-256 CA and admin keys, an RSA-2048 service-account key, all as PKCS#8', () => {
    for (const keyPem of [
      pki.clusterCa.keyPem,
      pki.etcdCa.keyPem,
      pki.frontProxyCa.keyPem,
      pki.admin.keyPem,
    ]) {
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const key = createPrivateKey(keyPem);
      expect(key.asymmetricKeyType).toBe('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
    const sa = createPrivateKey(pki.serviceAccount.privateKeyPem);
    expect(pki.serviceAccount.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(sa.asymmetricKeyType).toBe('rsa');
    expect(sa.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(pki.serviceAccount.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('generates fresh keys and secrets on every call', async () => {
    const other = await generatePki({});
    expect(other.clusterCa.keyPem).not.toBe(pki.clusterCa.keyPem);
    expect(other.etcdCa.keyPem).not.toBe(pki.etcdCa.keyPem);
    expect(other.serviceAccount.privateKeyPem).not.toBe(pki.serviceAccount.privateKeyPem);
    expect(other.admin.keyPem).not.toBe(pki.admin.keyPem);
    expect(other.caCertHash).not.toBe(pki.caCertHash);
    expect(other.bootstrapToken).not.toBe(pki.bootstrapToken);
    expect(other.certificateKey).not.toBe(pki.certificateKey);
  });

  it('backdates notBefore by 5 minutes and gives CAs 10 years and the admin cert 1 year', async () => {
    const now = new Date('2030-03-01T12:00:00Z');
    const dated = await generatePki({ now });
    const ca = new X509Certificate(dated.clusterCa.certPem);
    expect(new Date(ca.validFrom).toISOString()).toBe('2030-03-01T11:55:00.000Z');
    expect(certNotAfter(dated.clusterCa.certPem).toISOString()).toBe('2040-03-01T12:00:00.000Z');
    expect(certNotAfter(dated.admin.certPem).toISOString()).toBe('2031-03-01T12:00:00.000Z');
  });
});

describe('loadOrCreatePki', () => {
  it('creates the directory 0700 with every file 0600', async () => {
    const dir = join(tempDir(), 'nested', 'pki');
    const { created } = await loadOrCreatePki(dir);
    expect(created).toBe(true);
    expect(mode(dir)).toBe(0o700);
    for (const name of PKI_FILES) expect(mode(join(dir, name)), name).toBe(0o600);
    expect(readFileSync(join(dir, 'bootstrap-token'), 'utf8')).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}\n$/);
  });

  it('returns the stored material unchanged on the second call', async () => {
    const dir = tempDir();
    const first = await loadOrCreatePki(dir);
    const second = await loadOrCreatePki(dir);
    expect(second.created).toBe(false);
    expect(second.pki).toEqual(first.pki);
  });

  it('tightens loose modes on an existing PKI directory', async () => {
    const dir = tempDir();
    await loadOrCreatePki(dir);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'ca.key'), 0o644);
    await loadOrCreatePki(dir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'ca.key'))).toBe(0o600);
  });

  it('refuses to regenerate when a file is missing and names it', async () => {
    const dir = tempDir();
    const { pki: original } = await loadOrCreatePki(dir);
    unlinkSync(join(dir, 'etcd-ca.key'));
    await expect(loadOrCreatePki(dir)).rejects.toThrow(/missing: etcd-ca\.key\b/);
    // The surviving material is left untouched.
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toBe(original.clusterCa.keyPem);
  });

  it('rejects a directory whose key does not match its certificate', async () => {
    const dir = tempDir();
    await loadOrCreatePki(dir);
    writeFileSync(join(dir, 'ca.key'), readFileSync(join(dir, 'etcd-ca.key')));
    await expect(loadOrCreatePki(dir)).rejects.toThrow(/ca\.key does not match ca\.crt/);
  });

  it('keeps the VRRP password 0600 beside the other secrets', async () => {
    const dir = tempDir();
    const { pki: created } = await loadOrCreatePki(dir);
    expect(mode(join(dir, 'vrrp-password'))).toBe(0o600);
    expect(readFileSync(join(dir, 'vrrp-password'), 'utf8')).toBe(`${created.vrrpPassword}\n`);
    expect((await loadPki(dir)).vrrpPassword).toBe(created.vrrpPassword);
  });

  it("adds a VRRP password to an older nkd's PKI directory once, and keeps it", async () => {
    const dir = tempDir();
    const { pki: original } = await loadOrCreatePki(dir);
    unlinkSync(join(dir, 'vrrp-password'));
    expect((await loadPki(dir)).vrrpPassword).toBe(''); // read-only commands never write
    const upgraded = await loadOrCreatePki(dir);
    expect(upgraded.created).toBe(false);
    expect(upgraded.pki.vrrpPassword).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(upgraded.pki.clusterCa).toEqual(original.clusterCa);
    expect(mode(join(dir, 'vrrp-password'))).toBe(0o600);
    expect((await loadOrCreatePki(dir)).pki.vrrpPassword).toBe(upgraded.pki.vrrpPassword);
  });

  it('rejects a malformed VRRP password', async () => {
    const dir = tempDir();
    await loadOrCreatePki(dir);
    writeFileSync(join(dir, 'vrrp-password'), 'short\n');
    await expect(loadOrCreatePki(dir)).rejects.toThrow(/vrrp-password is not 8 characters/);
  });

  it('persists sa.key and sa.pub as a matching signing pair', async () => {
    const dir = tempDir();
    await loadOrCreatePki(dir);
    const data = Buffer.from('service account token payload');
    const signature = sign('sha256', data, createPrivateKey(readFileSync(join(dir, 'sa.key'))));
    expect(verify('sha256', data, createPublicKey(readFileSync(join(dir, 'sa.pub'))), signature)).toBe(true);
  });
});

describe('renderAdminKubeconfig', () => {
  it('builds an admin kubeconfig with embedded CA and client credentials', () => {
    const doc = parse(renderAdminKubeconfig(pki, 'prod', 'https://10.0.0.10:6443'));
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    expect(doc).toMatchObject({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'nkd-admin@prod',
      clusters: [{ name: 'nkd-prod', cluster: { server: 'https://10.0.0.10:6443' } }],
      users: [{ name: 'nkd-admin@prod' }],
      contexts: [{ name: 'nkd-admin@prod', context: { cluster: 'nkd-prod', user: 'nkd-admin@prod' } }],
    });
    expect(decode(doc.clusters[0].cluster['certificate-authority-data'])).toBe(pki.clusterCa.certPem);
    expect(decode(doc.users[0].user['client-certificate-data'])).toBe(pki.admin.certPem);
    expect(decode(doc.users[0].user['client-key-data'])).toBe(pki.admin.keyPem);
  });

  it('rejects a non-https server URL', () => {
    expect(() => renderAdminKubeconfig(pki, 'prod', 'http://10.0.0.10:6443')).toThrow(/https/);
  });
});

describe('generatePkiStaged', () => {
  it('hands out everything but the service-account key at once, which a read of refuses', async () => {
    const { generatePkiStaged } = await import('../../src/pki/generate.js');
    const staged = await generatePkiStaged();
    expect(staged.partial.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(() => staged.partial.serviceAccount.privateKeyPem).toThrow(/still being generated/);
    const complete = await staged.complete;
    expect(complete.clusterCa).toEqual(staged.partial.clusterCa);
    expect(complete.bootstrapToken).toBe(staged.partial.bootstrapToken);
    expect(complete.serviceAccount.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });
});
