/** Routes the Temporal SDK's own logs (worker state, bundling, failures) into cadre's pino logger. */
import { Runtime, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import { logger as rootLogger } from '../node/logger';

let installed = false;

export function installSdkLogging(level?: string): void {
  if (installed) return;
  installed = true;
  const log = rootLogger(level);
  const sdkLogger: Logger = {
    log: (lvl: LogLevel, message: string, meta?: LogMetadata) => {
      const method = lvl === 'TRACE' ? 'trace' : lvl === 'DEBUG' ? 'debug' : lvl === 'INFO' ? 'info' : lvl === 'WARN' ? 'warn' : 'error';
      log[method](meta ?? {}, message);
    },
    trace: (m, meta) => log.trace(meta ?? {}, m),
    debug: (m, meta) => log.debug(meta ?? {}, m),
    info: (m, meta) => log.info(meta ?? {}, m),
    warn: (m, meta) => log.warn(meta ?? {}, m),
    error: (m, meta) => log.error(meta ?? {}, m),
  };
  Runtime.install({ logger: sdkLogger });
}
