/**
 * `cadre cluster check|setup` (docs/cluster.md): whether the configured Temporal server and namespace are ready for
 * cadre — reachable (with TLS / API key as configured), the namespace there, cadre's search attributes registered,
 * a worker polling cadre's task queue — and, with `setup`, registering the search attributes that are missing.
 */
import { CadreError } from '../../shared/errors';
import { describeProblems, registerSearchAttributes, searchAttributeProblems } from '../cluster';
import { openRuntime } from '../runtime';
import { hasWorker } from '../view';

export async function clusterCommand(action: string, opts: { json?: boolean }): Promise<number> {
  if (action !== 'check' && action !== 'setup') throw new CadreError(`unknown cluster action "${action}": use check or setup`, 2);
  // The embedded server is checked as it is (started if need be): it registers the attributes itself.
  const rt = await openRuntime({ startServer: true });
  try {
    const { config } = rt;
    let problems = await searchAttributeProblems(rt.connection, config.namespace);
    let registered: string[] = [];
    if (action === 'setup' && problems.some((p) => p.found === undefined)) {
      try {
        await registerSearchAttributes(rt.connection, config.namespace, problems);
      } catch (err) {
        const msg = (err as Error).message.split('\n')[0];
        throw new CadreError(`could not register search attributes on namespace "${config.namespace}": ${msg}\n${describeProblems(config.namespace, problems)}`, 69);
      }
      registered = problems.filter((p) => p.found === undefined).map((p) => p.name);
      problems = await searchAttributeProblems(rt.connection, config.namespace);
    }
    const worker = await hasWorker(rt.client, config.taskQueue);
    const ready = problems.length === 0;
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ address: config.address, namespace: config.namespace, tls: Boolean(config.tls) || Boolean(config.temporalApiKey), searchAttributes: ready ? 'ok' : problems, registered, taskQueue: config.taskQueue, worker })}\n`,
      );
    } else {
      const auth = config.temporalApiKey ? 'TLS + API key' : config.tls ? (config.tls.certPath ? 'mTLS' : 'TLS') : 'plaintext';
      const lines = [
        `server: ${config.address} (${config.embedded ? 'embedded dev server' : auth}), namespace "${config.namespace}": reachable`,
        ...(registered.length ? [`registered: ${registered.join(', ')}`] : []),
        ready ? 'search attributes: all of cadre\'s are registered' : describeProblems(config.namespace, problems),
        `task queue "${config.taskQueue}": ${worker ? 'a worker polls it' : 'no worker polls it (start one: cadre worker)'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    // A missing worker is not a fault of the cluster: runs wait for one.
    return ready ? 0 : 78;
  } finally {
    await rt.close();
  }
}
