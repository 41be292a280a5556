// Public surface of the cluster PKI. Importing this does not load @peculiar/x509;
// that happens lazily on the first generatePki() call.
export type { CertAndKey, ClusterPki, PkiOptions } from './types.js';
export { caCertHash, certNotAfter, generatePki, generatePkiStaged, type StagedPki } from './generate.js';
export {
  loadOrCreatePki,
  loadPki,
  loadOrCreatePkiStaged,
  PKI_FILES,
  PkiStateError,
  type StagedPkiResult,
} from './store.js';
export type { PkiFile } from './store.js';
export { adminKubeconfig, renderAdminKubeconfig, ADMIN_USER } from './kubeconfig.js';
export type { KubeConfig } from './kubeconfig.js';
