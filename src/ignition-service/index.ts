// Public surface of the deployer's Ignition service (OpenStack delivery of full node configs).
// Importing this does not load @peculiar/x509; that happens when a CA or serving certificate is issued.
export { IgnitionService } from './server.js';
export type {
  FetchRecord,
  IgnitionServiceOptions,
  NodeConfig,
  RunningService,
  StartOptions,
} from './server.js';
export { IGNITION_CONTENT_TYPE } from './handler.js';
export { newNodeToken } from './tokens.js';
export {
  generateServiceCa,
  issueServingCert,
  loadOrCreateServiceCa,
  readServiceCa,
  SERVICE_CA_COMMON_NAME,
  SERVICE_CA_FILES,
} from './tls.js';
