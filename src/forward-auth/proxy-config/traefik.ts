import type { ProxyConfigInput } from './input.js';

export function traefikConfig(input: ProxyConfigInput): string {
  return `# traefik: not written yet (${input.file})\n`;
}
