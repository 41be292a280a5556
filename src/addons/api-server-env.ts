// Add-ons that talk to the API server from the nodes (flanneld, Housekeeper) are pointed at the
// cluster's control-plane endpoint instead of the `kubernetes` Service. The Service address works only
// where kube-proxy has programmed it: until then (a node's first boot, a reboot) and whenever kube-proxy
// cannot sync (a broken kube-proxy after an upgrade), those calls fail. Seen for real: flanneld
// crash-looping through minutes of a deploy, and the Housekeeper agent cut off from the API server by
// the very kube-proxy its upgrade had just rolled out. The API server's certificate covers the endpoint.

/** Where the API server is as the nodes reach it (the cluster's control-plane endpoint). */
export interface ApiServerAddress {
  host: string;
  port: number;
}

export interface EnvVar {
  name: string;
  value: string;
}

/** The variables in-cluster clients read the API server's address from, set to ADDRESS. */
export function apiServerEnv(address: ApiServerAddress | undefined): EnvVar[] {
  if (!address) return [];
  return [
    { name: 'KUBERNETES_SERVICE_HOST', value: address.host },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(address.port) },
  ];
}
