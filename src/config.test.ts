import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTINGS, loadConfig } from './config.ts';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      tokenTtlSeconds: 3600,
      databaseUrl: undefined,
    });
    expect(config.dataDir).toMatch(/data$/);
  });

  it('stops on a bad value with a message naming the variable', () => {
    const cases: Array<[string, string]> = [
      ['KITH_PORT', 'abc'],
      ['KITH_PORT', '70000'],
      ['KITH_DATABASE_URL', 'mysql://x'],
      ['KITH_LOG_LEVEL', 'loud'],
      ['KITH_NO_DEMO', 'maybe'],
      ['KITH_JWT_SECRET', 'short'],
      ['KITH_CLIENT_CACHE_SECONDS', '60'],
    ];
    for (const [variable, value] of cases) {
      expect(() => loadConfig({ [variable]: value }), variable).toThrow(ConfigError);
      expect(() => loadConfig({ [variable]: value })).toThrow(variable);
    }
  });

  it('never echoes a rejected signing secret', () => {
    expect(() => loadConfig({ KITH_JWT_SECRET: 'hunter2' })).not.toThrow(/hunter2/);
  });

  it('the README documents every setting', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const setting of Object.values(SETTINGS)) expect(readme).toContain(`\`${setting.variable}\``);
  });
});
