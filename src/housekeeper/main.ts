// `nkd-housekeeper operator|agent`: the entrypoints of the Housekeeper image (Containerfile). Both run
// in the cluster with their service account, answer /healthz and /readyz for the kubelet's probes, and
// stop cleanly on SIGTERM. They load nothing of the nkd CLI (no oclif, no Pulumi, no client-node).
import { createServer } from 'node:http';

const USAGE = 'usage: nkd-housekeeper operator|agent';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the Deployment/DaemonSet sets it from the downward API)`);
  return value;
}

function log(role: string): (line: string) => void {
  return (line) => process.stdout.write(`${new Date().toISOString()} ${role}: ${line}\n`);
}

/** /healthz: the process runs; /readyz: it reached the API server once. */
function serveHealth(port: number, ready: () => boolean): () => void {
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' || (req.url === '/readyz' && ready());
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' });
    res.end(ok ? 'ok\n' : 'not ready\n');
  });
  server.listen(port);
  return () => server.close();
}

export async function main(argv: readonly string[]): Promise<number> {
  const role = argv[0];
  if (role !== 'operator' && role !== 'agent') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { inClusterKube } = await import('./kube-client.js');
  const kube = inClusterKube();
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  let reached = false;
  const markReached = async () => {
    await kube.listNodes();
    reached = true;
  };
  // Ready once the API server answered; retried, since it may be restarting (a control-plane upgrade).
  const retry = setInterval(() => {
    if (reached) clearInterval(retry);
    else markReached().catch(() => undefined);
  }, 10_000);
  retry.unref();
  if (role === 'operator') {
    const stop = serveHealth(8081, () => reached);
    const { Operator } = await import('./operator.js');
    await markReached().catch(() => undefined);
    await new Operator({
      kube,
      namespace: required('POD_NAMESPACE'),
      identity: required('POD_NAME'),
      log: log('operator'),
    }).run(controller.signal);
    stop();
  } else {
    const stop = serveHealth(8082, () => reached);
    const { NodeAgent } = await import('./agent/agent.js');
    const { chrootExecutor } = await import('./agent/executor.js');
    await markReached().catch(() => undefined);
    await new NodeAgent({
      nodeName: required('NODE_NAME'),
      namespace: required('POD_NAMESPACE'),
      kube,
      host: chrootExecutor('/host'),
      log: log('agent'),
    }).run(controller.signal);
    stop();
  }
  kube.close();
  return 0;
}
