// The server under test, run as a child process (`node --import tsx bench/kith-server.ts`) so the load generator
// in the parent never competes with it on the same event loop. It builds Kith exactly as `kith serve` does
// (configuration from the environment the parent sets), then adds two bench-only routes before listening.
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createServices } from '../src/services.ts';
import { answerParent, CHEAP_BODY, type ReadyMessage } from './shared.ts';

const TENANT = 'bench';
const INSTANCE = 'live';

const config = loadConfig(process.env, { host: '127.0.0.1', port: 0 });
const database = openDatabase(config);
await migrate(database);
const services = await createServices({ config, database });
const app = await buildApp(services);

// One handler, two routes of the same shape (`/:tenant/:instance/bench/…`, so routing costs the same), differing
// only in the declared permission: the difference between the two is the cost of authentication and authorization.
// Hidden from OpenAPI and without a response schema, so both serialise with JSON.stringify like the raw baseline.
const cheap = async () => CHEAP_BODY;
app.get(
  '/:tenant/:instance/bench/public',
  { config: { permission: 'public' }, schema: { hide: true } },
  cheap,
);
app.get(
  '/:tenant/:instance/bench/cheap',
  { config: { permission: 'instances:read' }, schema: { hide: true } },
  cheap,
);

// The fixture, made through the services as test/harness.ts does: one tenant, one instance, a full-access client.
await services.tenants.createTenant(TENANT);
await services.tenants.createInstance(TENANT, INSTANCE);
const client = await services.clients.create({
  tenant: TENANT,
  instances: [INSTANCE],
  policy: 'full-access',
});

const url = await app.listen({ host: config.host, port: config.port });
const ready: ReadyMessage = {
  type: 'ready',
  url,
  fixture: { tenant: TENANT, instance: INSTANCE, apiClient: client.apiClient, secret: client.secret },
};
process.send?.(ready);

answerParent(async () => {
  await app.close();
  await services.rateLimits.close();
  await database.close();
});
