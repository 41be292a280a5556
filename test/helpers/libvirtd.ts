// The namespaced libvirtd the libvirt tests and the end-to-end harness (scripts/e2e) share.
export * from '../../scripts/lib/libvirtd.js';
