// Structured JSON logs (pino: fast, one JSON object per line). Engine events carry a stable `code`
// that operators can alert on; tokens, cookies and secrets are never passed to the logger.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { EngineLogger } from '../engine/engine.js';

export type { Logger };

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.PLANGATE_LOG_LEVEL ?? 'info';
  return pino({ level, base: { service: 'plangate' }, timestamp: pino.stdTimeFunctions.isoTime }, options.destination);
}

/** Engine events as log lines: `{ level, code, ...fields }`. */
export function engineLogger(logger: Logger): EngineLogger {
  return {
    event(level, code, fields) {
      logger[level]({ code, ...fields });
    },
  };
}
