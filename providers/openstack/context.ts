// What every part of the OpenStack program shares: the cluster, its config, tags and the provider.
import type * as pulumi from '@pulumi/pulumi';
import type { OpenStackConfig } from './config.js';

export interface Context {
  cluster: string;
  platform: OpenStackConfig;
  tags: string[];
  opts: pulumi.CustomResourceOptions;
  /** Invoke options: the same explicit provider. */
  invokeOpts: pulumi.InvokeOptions;
  name: (kind: string, node?: string) => string;
}

export interface NodeNetwork {
  networkId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  /** What nodes and floating IPs must wait for (the router interface; nothing for an existing network). */
  ready: pulumi.Resource[];
}
