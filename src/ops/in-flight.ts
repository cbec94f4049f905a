// Tracks the requests a server is answering, so a reload can retire the old config once the
// requests that started on it are done, and a shutdown can wait for them up to a deadline.
import type { Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export class InFlight {
  private readonly active = new Set<ServerResponse | Duplex>();

  /** Counts the server's requests and websocket upgrades until each one's connection closes. */
  track(server: Server): this {
    server.on('request', (_req, res: ServerResponse) => this.add(res));
    server.on('upgrade', (_req, socket: Duplex) => this.add(socket));
    return this;
  }

  /**
   * For a server that reports its requests itself (the gateway listener calls these from the
   * handlers it already has: no second `request` listener and no extra `close` listener per request).
   */
  begin(item: ServerResponse | Duplex): void {
    this.active.add(item);
  }

  end(item: ServerResponse | Duplex): void {
    this.active.delete(item);
  }

  get size(): number {
    return this.active.size;
  }

  /**
   * Resolves true when every request active now has finished, false when `deadlineMs` passes first.
   * Requests that start later are not waited for.
   */
  settled(deadlineMs: number): Promise<boolean> {
    const waiting = [...this.active];
    if (waiting.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let left = waiting.length;
      const timer = setTimeout(() => resolve(false), deadlineMs);
      timer.unref();
      const done = () => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve(true);
      };
      for (const item of waiting) {
        if (!this.active.has(item)) done();
        else item.once('close', done);
      }
    });
  }

  private add(item: ServerResponse | Duplex): void {
    this.active.add(item);
    item.once('close', () => this.active.delete(item));
  }
}
