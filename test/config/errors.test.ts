import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';

describe('ConfigError', () => {
  it('sorts issues by place and formats one line each', () => {
    const error = new ConfigError([
      { file: '/c/plangate.yaml', line: 9, column: 5, path: 'plans.a.assign', message: 'expected anonymous, authenticated or none' },
      { file: '/c/plangate.yaml', line: 2, column: 1, path: '', message: 'config file not found' },
    ]);
    expect(error.code).toBe('invalid-config');
    expect(error.format()).toBe('/c/plangate.yaml:2:1  config file not found\n/c/plangate.yaml:9:5  plans.a.assign: expected anonymous, authenticated or none');
    expect(error.message).toBe(`invalid config (2 problems):\n${error.format()}`);
  });
});
