// The shapes the one Kubernetes client (client.ts) takes and returns.
/** A manifest object as parsed from YAML/JSON; sent to the server verbatim. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The serving certificate an API server presented (see ClusterClient.serverCertificate). */
export interface ServerCertificate {
  /** "CN=kube-apiserver" (RDNs joined with ", "). */
  subject: string;
  issuer: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** "DNS:kubernetes", "IP Address:10.0.0.10", ... as OpenSSL prints them. */
  subjectAltNames: string[];
}

export interface AppliedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** Set for namespaced kinds ("default" when the manifest named none). */
  namespace?: string;
}
