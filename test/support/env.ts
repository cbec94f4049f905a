// What the global setup provides to every test file.
import { inject } from 'vitest';

export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix unique to this run and this caller, so tests never touch data they did not create. */
export function testKeyPrefix(scope: string): string {
  return `${inject('keyPrefix')}${scope}:`;
}
