// Kith as the webhooks bench runs it: a child process (`node --import tsx`) built exactly as `kith serve` builds
// it, webhook dispatcher included (bench/kith-server.ts does not start one), with a fixture of one tenant whose
// instances (BENCH_INSTANCES) the parent gives 0, 1, 5… webhook endpoints.
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createServices } from '../src/services.ts';
import { answerParent, type ReadyMessage } from './shared.ts';

const TENANT = 'bench';
const instances = (process.env.BENCH_INSTANCES ?? 'live').split(',');

const config = loadConfig(process.env, { host: '127.0.0.1', port: 0 });
const database = openDatabase(config);
await migrate(database);
const services = await createServices({ config, database });
const app = await buildApp(services);

await services.tenants.createTenant(TENANT);
for (const instance of instances) await services.tenants.createInstance(TENANT, instance);
const client = await services.clients.create({ tenant: TENANT, instances, policy: 'full-access' });

const url = await app.listen({ host: config.host, port: config.port });
services.webhooks.dispatcher.start(app.log);
const ready: ReadyMessage = {
  type: 'ready',
  url,
  fixture: { tenant: TENANT, instance: instances[0]!, apiClient: client.apiClient, secret: client.secret },
};
process.send?.(ready);

// In `kith serve`'s order: no new requests, then the dispatcher's sends in flight, then the database.
answerParent(async () => {
  await app.close();
  await services.webhooks.dispatcher.close();
  await services.rateLimits.close();
  await database.close();
});
