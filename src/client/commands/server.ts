/** `cadre server start|stop|status`: the background embedded dev server that `cadre run` starts when needed. */
import { loadConfig } from '../../node/config';
import { CadreError } from '../../shared/errors';
import { readPidFile, serverAnswers, stopEmbeddedServer } from '../devServer';
import { prepareServer } from '../connection';

export async function serverCommand(action: string): Promise<number> {
  const config = loadConfig();
  if (!config.embedded) throw new CadreError(`TEMPORAL_ADDRESS is set (${config.address}): cadre does not manage that server`, 2);
  switch (action) {
    case 'start': {
      const r = await prepareServer(config, { detached: true });
      process.stdout.write(`${r.started ? 'started' : 'already running:'} Temporal at ${config.address}, Web UI ${config.uiUrl}, data ${config.stateDir}/temporal.sqlite\n`);
      return 0;
    }
    case 'stop': {
      const stopped = await stopEmbeddedServer(config.stateDir);
      process.stdout.write(stopped ? 'stopped the embedded Temporal server\n' : 'no embedded server started by cadre is recorded in the state directory\n');
      return 0;
    }
    case 'status': {
      const up = await serverAnswers(config.address);
      const pid = readPidFile(config.stateDir);
      process.stdout.write(`${up ? 'up' : 'down'} at ${config.address}${pid ? ` (pid ${pid.pid})` : ''}; Web UI ${config.uiUrl}\n`);
      return up ? 0 : 1;
    }
    default:
      throw new CadreError(`unknown server action "${action}": use start, stop or status`, 2);
  }
}
