// The real OCI registry the air-gap tests and the end-to-end harness (scripts/e2e) share.
export * from '../../scripts/lib/registry.js';
