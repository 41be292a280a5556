/**
 * Shapes of the cluster PKI. Kept free of runtime imports so that type-only users
 * (config renderers, Ignition builders) never pull in the crypto libraries.
 */

/** A certificate and its private key, both PEM. The key is PKCS#8 ("PRIVATE KEY"). */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/**
 * Everything the deployer owns so that nodes never have to hand material back to it:
 * the shared CAs and SA key (pre-seeded into /etc/kubernetes/pki on every master),
 * an admin client cert for a locally built kubeconfig, and the join secrets.
 */
export interface ClusterPki {
  /** kubeadm ca.crt / ca.key, CN "kubernetes". */
  clusterCa: CertAndKey;
  /** kubeadm etcd/ca.crt / etcd/ca.key, CN "etcd-ca". */
  etcdCa: CertAndKey;
  /** kubeadm front-proxy-ca.crt / front-proxy-ca.key, CN "front-proxy-ca". */
  frontProxyCa: CertAndKey;
  /** kubeadm sa.pub (SPKI "PUBLIC KEY") / sa.key (PKCS#8). */
  serviceAccount: { publicKeyPem: string; privateKeyPem: string };
  /** Client cert signed by clusterCa: CN "nkd-admin", O "system:masters", clientAuth, 1 year. */
  admin: CertAndKey;
  /** kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
  bootstrapToken: string;
  /** kubeadm certificateKey: hex of 32 random bytes. */
  certificateKey: string;
  /** `sha256:<hex>` of the cluster CA's DER SubjectPublicKeyInfo, for `caCertHashes`. */
  caCertHash: string;
  /**
   * keepalived's VRRP authentication password for an API VIP: 8 characters of [A-Za-z0-9] (VRRPv2
   * PASS authentication uses at most 8). Generated with the PKI so every control plane gets the same.
   */
  vrrpPassword: string;
}

export interface PkiOptions {
  /** Reference time for validity periods; defaults to the current time. */
  now?: Date;
}
