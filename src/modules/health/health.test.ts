import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

describe('health and readiness', () => {
  it('reports alive and ready on a migrated database', async () => {
    expect((await kith.request('GET', '/health')).body).toEqual({ status: 'ok' });
    const ready = await kith.request('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', engine: kith.database.engine });
  });

  it('reports not ready (503) when the database is unreachable, while still alive', async () => {
    const other = await startKith();
    try {
      await other.database.close();
      const ready = await other.request('GET', '/ready');
      expect(ready.status).toBe(503);
      expect((ready.body as Array<{ errorCode: string }>)[0]!.errorCode).toBe('SERVICE_UNAVAILABLE');
      expect((await other.request('GET', '/health')).status).toBe(200);
    } finally {
      await other.app.close();
    }
  });
});
