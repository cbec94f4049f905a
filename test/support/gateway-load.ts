// Steady load through a real gateway process while something breaks under it: JWT visitors (signed
// with the test's own key) request /articles/<n> round-robin, a fixed number in flight, and every
// reply is kept with its timing. Used by the Cluster failover e2e test and `npm run chaos`.
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GatewayReply {
  visitor: number;
  /** 0 when the request itself failed. */
  status: number;
  /** A 200 whose upstream saw `x-plangate-degraded: true` (the echo upstream returns it in its body). */
  degraded: boolean;
  start: number;
  end: number;
}

export interface GatewayLoad {
  readonly replies: readonly GatewayReply[];
  /** Resolves with when a reply matching `accept` arrived for a request sent after `since`; rejects after `timeoutMs`. */
  replyAfter(since: number, accept: (reply: GatewayReply) => boolean, timeoutMs: number): Promise<number>;
  stop(): Promise<GatewayReply[]>;
}

/** A key pair for the gateway's JWT integration: its public half written to `dir`, and tokens for subjects. */
export async function jwtVisitors(dir: string): Promise<{ publicKeyFile: string; tokens(subjects: readonly string[]): Promise<string[]> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicKeyFile = join(dir, 'jwt.pub.pem');
  writeFileSync(publicKeyFile, await exportSPKI(publicKey));
  return { publicKeyFile, tokens: (subjects) => Promise.all(subjects.map((sub) => sign(privateKey, sub))) };
}

function sign(key: CryptoKey, sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setExpirationTime('1h').sign(key);
}

export function startGatewayLoad(options: { url: string; tokens: readonly string[]; inFlight: number; pauseMs?: number }): GatewayLoad {
  const replies: GatewayReply[] = [];
  let running = true;
  let sequence = 0;
  const worker = async () => {
    while (running) {
      const n = sequence++;
      const visitor = n % options.tokens.length;
      const start = performance.now();
      const reply = await fetch(`${options.url}/articles/${n}`, { headers: { authorization: `Bearer ${options.tokens[visitor]}` } }).then(
        async (res) => ({ status: res.status, degraded: res.status === 200 && (await res.text()).includes('"degraded":"true"') }),
        () => ({ status: 0, degraded: false }),
      );
      replies.push({ visitor, ...reply, start, end: performance.now() });
      await new Promise((r) => setTimeout(r, options.pauseMs ?? 2));
    }
  };
  const workers = Array.from({ length: options.inFlight }, worker);
  return {
    replies,
    async replyAfter(since, accept, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = replies.filter((r) => r.start >= since && accept(r)).sort((a, b) => a.end - b.end)[0];
        if (found !== undefined) return found.end;
        if (Date.now() > deadline) throw new Error(`no matching reply to a request sent after the fault within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return replies;
    },
  };
}
