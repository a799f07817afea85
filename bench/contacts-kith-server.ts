// Kith as the contacts bench runs it: a child process (`node --import tsx`), built exactly as `kith serve` does
// from the environment the parent sets, on an already seeded database. Unlike bench/kith-server.ts it creates
// no fixture (the seed made the tenants and clients), so it can run against the same database again and again.
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createServices } from '../src/services.ts';
import { answerParent, type ReadyMessage } from './shared.ts';

const config = loadConfig(process.env, { host: '127.0.0.1', port: 0 });
const database = openDatabase(config);
await migrate(database);
const services = await createServices({ config, database });
const app = await buildApp(services);
const url = await app.listen({ host: config.host, port: config.port });
const ready: ReadyMessage = { type: 'ready', url };
process.send?.(ready);

answerParent(async () => {
  await app.close();
  await services.rateLimits.close();
  await database.close();
});
