// `kith serve`: migrate, build, listen, create the demo tenant on a first start, and shut down cleanly.
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { ensureDemo, demoInstructions } from './bootstrap.ts';
import type { CreatedClient } from './platform/auth/clients.service.ts';
import type { KithApp } from './platform/http/types.ts';
import { createServices, type Services } from './services.ts';

export async function serve(config: Config): Promise<void> {
  const database = openDatabase(config);
  let services: Services | undefined;
  let app: KithApp | undefined;
  let address: string;
  let demo: CreatedClient | undefined;
  try {
    await migrate(database);
    services = await createServices({ config, database });
    app = await buildApp(services);
    address = await app.listen({ host: config.host, port: config.port });
    // Only once listening: a start that fails (e.g. port in use) must not create a demo whose secret is never shown.
    demo = config.noDemo ? undefined : await ensureDemo(services);
  } catch (error) {
    // Release the pool (and Redis) so a failed start exits at once instead of lingering on open connections.
    await app?.close().catch(() => undefined);
    await services?.rateLimits.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
  app.log.info({ engine: database.engine, database: database.location }, `Kith listening on ${address}`);
  if (demo) process.stdout.write(demoInstructions(address, demo));
  const retention = startRetention(services, app.log);
  services.webhooks.dispatcher.start(app.log);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // In-flight requests get the deadline; after it, the remaining connections are cut.
    const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
    deadline.unref();
    clearInterval(retention);
    try {
      await app.close();
      // Sends in flight finish (each within its timeout) and are recorded before the database closes.
      await services.webhooks.dispatcher.close();
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

/** Deletes events past their retention period every hour (and once at start). Every node may run it. */
function startRetention(services: Services, log: KithApp['log']): NodeJS.Timeout {
  const purge = () =>
    services.events.purgeExpired().then(
      (deleted) => deleted > 0 && log.info({ deleted }, 'expired events deleted'),
      (error: unknown) => log.warn({ err: error }, 'event retention failed; will retry'),
    );
  void purge();
  const timer = setInterval(() => void purge(), 60 * 60 * 1000);
  timer.unref();
  return timer;
}
