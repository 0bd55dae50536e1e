/**
 * Routes the Temporal SDK's own logs (worker state, bundling, failures) and the Rust core's (connection retries,
 * polling) into cadre's pino logger — core logs are forwarded instead of printed in colour to the console.
 *
 * The SDK's own lines are one level quieter than the SDK says (WARN → info, INFO → debug, DEBUG → trace), so at the
 * CLI's default level (warn) none reaches the terminal: a server outage's retry warnings or a re-attached run's
 * "Query not found" are noise for an operator, whom the CLI tells itself. `-v` (info) shows the SDK's warnings,
 * `CADRE_LOG_LEVEL=debug` its info lines too. SDK errors stay errors. Lines that cadre's own workflow and activity
 * code logs (sdkComponent `workflow` / `activity`) keep their level.
 */
import { Runtime, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import { logger as rootLogger } from '../node/logger';

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

let installed = false;

/**
 * SDK lines about what cadre sets up on purpose, at debug whatever the SDK's level: a host's own queue and the
 * placement queue are served by workers with activities only (docs/hosts.md), which the SDK warns about at start.
 */
const EXPECTED = new Set(['No workflows registered, not polling for workflow tasks']);

/** The pino level of one SDK log line: cadre's own code as it said, the SDK's one level down (errors excepted). */
export function sdkLevel(lvl: LogLevel, meta?: LogMetadata, message?: string): PinoLevel {
  if (message !== undefined && EXPECTED.has(message) && lvl !== 'ERROR') return 'debug';
  const own = meta?.sdkComponent === 'workflow' || meta?.sdkComponent === 'activity';
  if (own) return lvl === 'TRACE' ? 'trace' : lvl === 'DEBUG' ? 'debug' : lvl === 'INFO' ? 'info' : lvl === 'WARN' ? 'warn' : 'error';
  return lvl === 'ERROR' ? 'error' : lvl === 'WARN' ? 'info' : lvl === 'INFO' ? 'debug' : 'trace';
}

/** What the core forwards at all: WARN and up, unless cadre logs at debug (then INFO) or trace (DEBUG). */
export function coreFilter(level: string | undefined): LogLevel {
  return level === 'trace' ? 'DEBUG' : level === 'debug' ? 'INFO' : 'WARN';
}

export function installSdkLogging(level?: string): void {
  if (installed) return;
  installed = true;
  const log = rootLogger(level);
  const at = (lvl: LogLevel) => (message: string, meta?: LogMetadata) => log[sdkLevel(lvl, meta, message)](meta ?? {}, message);
  const sdkLogger: Logger = {
    log: (lvl: LogLevel, message: string, meta?: LogMetadata) => at(lvl)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
  Runtime.install({
    logger: sdkLogger,
    telemetryOptions: { logging: { forward: {}, filter: { core: coreFilter(level ?? process.env.CADRE_LOG_LEVEL), other: 'ERROR' } } },
  });
}
