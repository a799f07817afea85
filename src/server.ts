// `kith serve`: migrate, build, create the demo tenant on a first start, listen, and shut down cleanly.
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { ensureDemo, demoInstructions } from './bootstrap.ts';
import { createServices } from './services.ts';

export async function serve(config: Config): Promise<void> {
  const database = openDatabase(config);
  await migrate(database);
  const services = await createServices({ config, database });
  const app = await buildApp(services);
  const demo = config.noDemo ? undefined : await ensureDemo(services);
  const address = await app.listen({ host: config.host, port: config.port });
  app.log.info({ engine: database.engine, database: database.location }, `Kith listening on ${address}`);
  if (demo) process.stdout.write(demoInstructions(address, demo));

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // In-flight requests get the deadline; after it, the remaining connections are cut.
    const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await app.close();
      await services.rateLimits.close();
      await database.close();
      process.exitCode = 0;
    } catch (error) {
      app.log.error({ err: error }, 'unclean shutdown');
      process.exitCode = 1;
    } finally {
      clearTimeout(deadline);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
