// A fixed, obviously fake PKI for golden files: rendering is tested for structure and bytes, not for
// cryptography (the real PKI is tested with openssl in pki.test.ts), and no real key lives in git.
import type { ClusterPki } from '../../src/pki/types.js';

const pem = (label: string, body: string): string =>
  `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

export const FAKE_PKI: ClusterPki = {
  clusterCa: {
    certPem: pem('CERTIFICATE', 'FAKE-CLUSTER-CA-CERT'),
    keyPem: pem('PRIVATE KEY', 'FAKE-CLUSTER-CA-KEY'),
  },
  etcdCa: {
    certPem: pem('CERTIFICATE', 'FAKE-ETCD-CA-CERT'),
    keyPem: pem('PRIVATE KEY', 'FAKE-ETCD-CA-KEY'),
  },
  frontProxyCa: {
    certPem: pem('CERTIFICATE', 'FAKE-FRONT-PROXY-CA-CERT'),
    keyPem: pem('PRIVATE KEY', 'FAKE-FRONT-PROXY-CA-KEY'),
  },
  serviceAccount: {
    publicKeyPem: pem('PUBLIC KEY', 'FAKE-SA-PUB'),
    privateKeyPem: pem('PRIVATE KEY', 'FAKE-SA-KEY'),
  },
  admin: { certPem: pem('CERTIFICATE', 'FAKE-ADMIN-CERT'), keyPem: pem('PRIVATE KEY', 'FAKE-ADMIN-KEY') },
  bootstrapToken: 'abcdef.0123456789abcdef',
  certificateKey: '00'.repeat(32),
  caCertHash: `sha256:${'ab'.repeat(32)}`,
  vrrpPassword: 'FakeVrrp',
};
