// The libvirt provider's operations, one `LibvirtOperations` per resource kind, as Pulumi dynamic
// resources wrap them. Each method is self-contained: it needs only its arguments (the connection URI
// is an input) and keeps no module-level state, because Pulumi runs it in the engine's provider
// process. Decisions (see README.md beside this file): names are fixed, so replacements delete first;
// create adopts an object only when it carries the UUID nkd derives from its name; volumes in the
// cluster's own pool are simply re-made.
export {
  baseImageVolumeOperations,
  fileFingerprint,
  ignitionVolumeOperations,
  nodeVolumeOperations,
  poolOperations,
} from './storage-operations.js';
export { domainOperations, networkOperations } from './compute-operations.js';
export type * from './types.js';
