// Liveness and readiness, for load balancers and orchestrators.
import { Type } from 'typebox';
import { ping } from '../../db/database.ts';
import { isMigrated } from '../../db/migrate.ts';
import { KithError } from '../../platform/errors.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';

export async function healthRoutes(app: KithApp, { services }: { services: Services }) {
  app.get(
    '/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['health'],
        summary: 'The process is alive',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['health'],
        summary: 'The database is reachable and fully migrated',
        response: { 200: Type.Object({ status: Type.Literal('ready'), engine: Type.String() }) },
      },
    },
    async (request) => {
      try {
        await ping(services.database);
        if (!(await isMigrated(services.database))) throw new Error('migrations pending');
      } catch (error) {
        request.log.warn({ err: error }, 'not ready');
        throw new KithError('SERVICE_UNAVAILABLE', { message: 'Database unreachable or not migrated' });
      }
      return { status: 'ready' as const, engine: services.database.engine };
    },
  );
}
