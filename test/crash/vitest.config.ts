// `npm run test:crash`: the crash test, apart from `npm test` because it takes minutes. It needs PostgreSQL:
// KITH_DATABASE_URL names the server (default below), and test/global-setup.ts makes a fresh database on it for
// the run and drops it afterwards, as for the PostgreSQL suite.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

process.env.KITH_DATABASE_URL ||= 'postgres://postgres@127.0.0.1:5432/test';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/crash/**/*.crash.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 10 * 60_000,
    hookTimeout: 2 * 60_000,
  },
});
