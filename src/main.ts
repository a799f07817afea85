// The `kith` command: `serve` and `admin …`. Nothing else lives here.
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.ts';
import { registerAdminCommands } from './cli/admin.ts';
import { KithError } from './platform/errors.ts';
import { serve } from './server.ts';

const program = new Command('kith').description('Kith: contacts and patient-relationship API server');

program
  .command('serve')
  .description('Start the HTTP server (SQLite under KITH_DATA_DIR, or PostgreSQL with KITH_DATABASE_URL)')
  .action(async () => serve(loadConfig()));

registerAdminCommands(program, () => loadConfig());

program.parseAsync(process.argv).catch((error: unknown) => {
  // Expected failures get one clear line, never a stack trace.
  if (error instanceof ConfigError) process.stderr.write(`Configuration error: ${error.message}\n`);
  else if (error instanceof KithError) process.stderr.write(`Error (${error.code}): ${error.message}\n`);
  else if (error instanceof Error) process.stderr.write(`Error: ${error.message}\n`);
  else process.stderr.write(`Error: ${String(error)}\n`);
  process.exitCode = error instanceof ConfigError ? 78 : 1;
});
