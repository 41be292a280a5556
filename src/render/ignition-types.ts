// The subset of the Ignition v3.3.0 config spec that nkd emits, typed so a wrong field fails to compile.
// One constant holds the spec version so moving to a newer spec is a single change.
export const IGNITION_SPEC_VERSION = '3.3.0';

export interface IgnitionResource {
  source: string;
  compression?: 'gzip';
  httpHeaders?: { name: string; value: string }[];
  verification?: { hash: string };
}

export interface IgnitionFile {
  path: string;
  mode: number;
  overwrite?: boolean;
  contents: IgnitionResource;
}

export interface IgnitionDirectory {
  path: string;
  mode: number;
}

export interface IgnitionUnit {
  name: string;
  enabled?: boolean;
  mask?: boolean;
  contents?: string;
  dropins?: { name: string; contents: string }[];
}

export interface IgnitionUser {
  name: string;
  sshAuthorizedKeys?: string[];
  groups?: string[];
}

export interface IgnitionConfig {
  ignition: {
    version: typeof IGNITION_SPEC_VERSION;
    config?: { merge?: IgnitionResource[]; replace?: IgnitionResource };
    security?: { tls?: { certificateAuthorities?: IgnitionResource[] } };
    timeouts?: { httpResponseHeaders?: number; httpTotal?: number };
  };
  passwd?: { users: IgnitionUser[] };
  storage?: { directories?: IgnitionDirectory[]; files?: IgnitionFile[] };
  systemd?: { units: IgnitionUnit[] };
}
