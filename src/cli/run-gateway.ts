// `plangate gateway` and `plangate start`: the gateway listener, plus the decision API on its own
// listener when the config declares API keys.
import type { Server } from 'node:http';
import { createApiApp } from '../api/app.js';
import { listen, close } from '../api/server.js';
import { engineLogger } from '../ops/logger.js';
import { startGateway, type RunningGateway } from '../gateway/listener.js';
import type { Runtime } from '../runtime.js';

export interface RunningServers {
  gateway: RunningGateway;
  api?: { server: Server; url: string };
  close(): Promise<void>;
}

export async function runGateway(runtime: Runtime, options: { host?: string; port?: number } = {}): Promise<RunningServers> {
  const gateway = await startGateway({
    model: runtime.model,
    engine: runtime.engine,
    logger: engineLogger(runtime.logger),
    listen: { host: options.host, port: options.port },
  });
  let api: RunningServers['api'];
  if (runtime.model.apiKeys.length > 0) {
    const app = createApiApp({ engine: () => runtime.engine, logger: runtime.logger });
    api = await listen(app, runtime.model.server.api.host, runtime.model.server.api.port);
  }
  return {
    gateway,
    api,
    async close() {
      await gateway.close();
      if (api) await close(api.server);
      await runtime.close();
    },
  };
}
