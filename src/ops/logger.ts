// Structured JSON logs (pino: fast, one JSON object per line). Events carry a stable `code` (src/events.ts)
// that operators can alert on; tokens, cookies and secrets are never passed to the logger.
import type { EventLogger } from '../events.js';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; destination?: DestinationStream; worker?: number } = {}): Logger {
  const level = options.level ?? process.env.PLANGATE_LOG_LEVEL ?? 'info';
  // A worker's lines carry its number, and go out in writes small enough that the kernel never
  // interleaves them with another worker's on a shared pipe (PIPE_BUF is 4096 bytes on Linux).
  const base = options.worker === undefined ? { service: 'plangate' } : { service: 'plangate', worker: options.worker };
  const destination = options.destination ?? bufferedStdout(options.worker === undefined ? 16_000 : WORKER_BATCH_CHARS);
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A worker's batch: a few hundred characters plus the line that crossed them stays under 4096 bytes for lines of ordinary length. */
const WORKER_BATCH_CHARS = 1_000;

let stdout: BatchedLines | undefined;

/**
 * Standard output, written asynchronously in batches of about 16 KB. A synchronous write per log
 * line cost ~15 % of the gateway's CPU (one request line per request). The batching is ours, in
 * front of pino's asynchronous destination (sonic-boom): sonic-boom's own `minLength` batching
 * measures the UTF-8 length of its whole pending buffer on every write, which at 16 KB cost more
 * than the line itself. Lines keep their order. A quiet process still flushes every second, and on
 * exit.
 */
function bufferedStdout(batchChars: number): BatchedLines {
  if (stdout !== undefined) return stdout;
  const batched = new BatchedLines(pino.destination({ dest: 1, sync: false }), batchChars);
  stdout = batched;
  setInterval(() => batched.flush(), 1000).unref();
  process.on('exit', () => {
    try {
      batched.flushSync();
    } catch {
      // nothing more can be done while exiting
    }
  });
  return batched;
}

/** Collects lines and hands them to the destination about 16 KB at a time (one string, one write). */
export class BatchedLines implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(
    private readonly destination: { write(text: string): unknown; flushSync(): void },
    private readonly batchChars = 16_000,
  ) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0] : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.destination.write(text);
  }

  flushSync(): void {
    this.flush();
    this.destination.flushSync();
  }
}

/** Events (src/events.ts) as log lines: `{ level, code, ...fields }`. Every layer logs through this shape. */
export function eventLogger(logger: Logger): EventLogger {
  return {
    event(level, code, fields) {
      logger[level]({ code, ...fields });
    },
  };
}
