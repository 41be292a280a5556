// Expiry dates of the certificates nkd keeps in a cluster's state: read with node:crypto only (no
// @peculiar/x509), so `nkd status` reports them even when the cluster cannot be reached.
import { X509Certificate } from 'node:crypto';
import { certNotAfter } from './generate.js';
import type { ClusterPki } from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateExpiry {
  /** What the certificate is: "cluster CA", "admin client certificate", ... */
  name: string;
  /** "CN=kubernetes", "O=system:masters, CN=nkd-admin" (RDNs joined with ", "). */
  subject: string;
  /** ISO 8601. */
  notAfter: string;
  /** Whole days from `now` to notAfter, rounded down; negative once expired. */
  daysLeft: number;
}

/** Whole days from `now` until `notAfter`, rounded down (negative once it has passed). */
export function daysUntil(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

function expiry(name: string, certPem: string, now: Date): CertificateExpiry {
  const notAfter = certNotAfter(certPem);
  return {
    name,
    subject: new X509Certificate(certPem).subject.split('\n').join(', '),
    notAfter: notAfter.toISOString(),
    daysLeft: daysUntil(notAfter, now),
  };
}

/** The cluster, etcd and front-proxy CAs and nkd's admin client certificate, in that order. */
export function certificateExpiries(pki: ClusterPki, now: Date = new Date()): CertificateExpiry[] {
  return [
    expiry('cluster CA', pki.clusterCa.certPem, now),
    expiry('etcd CA', pki.etcdCa.certPem, now),
    expiry('front-proxy CA', pki.frontProxyCa.certPem, now),
    expiry('admin client certificate', pki.admin.certPem, now),
  ];
}
