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
  // Expected failures get one clear line, never a stack trace (messages may embed newlines, e.g. JSON.parse's).
  const say = (message: string) => process.stderr.write(`${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (error instanceof ConfigError) say(`Configuration error: ${error.message}`);
  else if (error instanceof KithError) say(`Error (${error.code}): ${error.message}`);
  else if (error instanceof Error) say(`Error: ${error.message}`);
  else say(`Error: ${String(error)}`);
  process.exitCode = error instanceof ConfigError ? 78 : 1;
});
