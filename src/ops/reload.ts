// Config reload without restart (docs/operations.md "Reload"), on SIGHUP and on file change. A reload loads the
// file again (workflows are compiled fresh on every load), refuses invalid configs and changes to
// what cannot move at runtime (reload-guard.ts), builds a new engine on the SAME store connection,
// and hands it to `apply` (which swaps the gateway and the API between requests). The old JWT
// verifier is closed once the requests that started on it are done.
import type { EventLogger } from '../events.js';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadConfig, type LoadOptions } from '../config/load.js';
import { ConfigError, formatIssue } from '../config/errors.js';
import type { MonitoredMeterStore } from '../engine/meters/create-store.js';
import { createRuntime, type Runtime } from './runtime.js';
import { eventLogger, type Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { unreloadableChanges, watchedFiles } from './reload-guard.js';

export type ReloadOutcome = { ok: true } | { ok: false; reason: string };

export interface ReloaderOptions {
  /** The YAML file to reload from. */
  file: string;
  /** How to load it (`${VAR}` values, the `--dev` anonymous-id key); as the first load. */
  load?: LoadOptions;
  /** The runtime serving now; its store is kept for every later config. */
  runtime: Runtime;
  logger: Logger;
  /** Engine events for the new runtimes (the same sink as the first one's). */
  events?: EventLogger;
  metrics?: Metrics;
  /** Puts the new runtime in service, synchronously between requests; throws to refuse it. */
  apply(next: Runtime): void;
  /** Resolves when the requests in flight now are done (then the old verifier is closed). */
  settled?: () => Promise<unknown>;
  /** Quiet time after the last file event before reloading (default 200 ms: editors write in bursts). */
  debounceMs?: number;
}

export class Reloader {
  private current: Runtime;
  private readonly store: MonitoredMeterStore;
  private queue: Promise<unknown> = Promise.resolve();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The reloader's own events (config-reloaded, ...) go where the engine's do. */
  private readonly events: EventLogger;

  constructor(private readonly options: ReloaderOptions) {
    this.current = options.runtime;
    this.events = options.events ?? eventLogger(options.logger);
    this.store = options.runtime.store;
  }

  get runtime(): Runtime {
    return this.current;
  }

  /** Reloads now; concurrent calls run one after another. Never throws. */
  reload(trigger = 'manual'): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadOnce(trigger));
    this.queue = next;
    return next;
  }

  /** Watches the YAML and the workflow files it names (their directories: editors replace files by renaming). */
  watch(): void {
    this.unwatch();
    if (this.closed) return;
    const byDir = new Map<string, Set<string>>();
    for (const file of watchedFiles(this.current.model)) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.schedule();
        });
        watcher.on('error', (error) => this.events.event('warn', 'config-watch-failed', { dir, error: error.message }));
        this.watchers.push(watcher);
      } catch (error) {
        this.events.event('warn', 'config-watch-failed', { dir, error: (error as Error).message });
      }
    }
  }

  /** Stops watching, closes the serving verifier and the store. */
  async close(): Promise<void> {
    this.closed = true;
    this.unwatch();
    await this.queue;
    this.current.engine.verifier.close();
    await this.store.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('file-change'), this.options.debounceMs ?? 200);
    this.timer.unref();
  }

  private unwatch(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private async reloadOnce(trigger: string): Promise<ReloadOutcome> {
    const { logger, metrics } = this.options;
    const refuse = (reason: string): ReloadOutcome => {
      this.events.event('error', 'config-reload-refused', { trigger, file: this.options.file, reason });
      metrics?.reloaded('refused');
      return { ok: false, reason };
    };
    if (this.closed) return { ok: false, reason: 'shutting down' };

    let model;
    try {
      model = await loadConfig(this.options.file, {
        ...this.options.load,
        onWarning: (warning) => this.events.event('warn', 'config-warning', { trigger, warning: formatIssue(warning) }),
      });
    } catch (error) {
      if (error instanceof ConfigError) return refuse(error.message);
      return refuse(`could not load the config: ${(error as Error).message}`);
    }
    const problems = unreloadableChanges(this.current.model, model);
    if (problems.length > 0) return refuse(problems.join('\n'));

    let next: Runtime;
    try {
      next = await createRuntime(model, {
        logger,
        events: this.options.events,
        sharedStore: this.store,
        sharedLoad: this.current.load,
        sharedNewIds: this.current.newIds,
      });
    } catch (error) {
      return refuse(`could not build the engine for the new config: ${(error as Error).message}`);
    }
    const previous = this.current;
    try {
      this.options.apply(next);
    } catch (error) {
      next.engine.verifier.close();
      return refuse((error as Error).message);
    }
    this.current = next;
    metrics?.reloaded('applied');
    this.events.event('info', 'config-reloaded', { trigger, file: this.options.file });
    if (this.watchers.length > 0) this.watch();
    // In-flight requests may still verify with the old verifier; retire it once they are done.
    void (this.options.settled?.() ?? Promise.resolve()).then(() => previous.engine.verifier.close());
    return { ok: true };
  }
}
