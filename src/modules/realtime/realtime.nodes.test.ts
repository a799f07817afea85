// Several Kith nodes on one PostgreSQL database: a change committed on any node reaches streams on every node
// (LISTEN/NOTIFY), also after a node's listening connection was cut. SQLite is served by one process: skipped.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { startKith, type Kith } from '../../../test/harness.ts';
import { contact } from '../../../test/factories.ts';
import { StreamClient } from './realtime.testing.ts';

const onPostgres = inject('databaseUrl') !== '';

describe.skipIf(!onPostgres)('realtime stream across nodes', () => {
  let a: Kith;
  let b: Kith;
  beforeAll(async () => {
    a = await startKith();
    // The second node on the first one's database; a long heartbeat, so only NOTIFY can explain a quick delivery.
    b = await startKith({
      dataDir: a.config.dataDir,
      databaseUrl: a.config.databaseUrl,
      wsHeartbeatSeconds: 600,
    });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a client on any node sees every change, in the same order, whichever node committed it', async () => {
    const tenant = await a.newTenant();
    const token = await tenant.token();
    const path = `/${tenant.name}/live/events/ws`;
    const onA = await StreamClient.open(a, path, token);
    const onB = await StreamClient.open(b, path, token);
    await onA.subscribe({ id: 'all' });
    await onB.subscribe({ id: 'all' });
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? a : b;
      await node.request('POST', `/${tenant.name}/live/contacts`, { token, body: contact() });
    }
    const seenOnA = (await onA.eventsUntil(6, 'all', 5000)).map((e) => e.sequence);
    const seenOnB = (await onB.eventsUntil(6, 'all', 5000)).map((e) => e.sequence);
    expect(seenOnA).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seenOnB).toEqual(seenOnA);
    onA.close();
    onB.close();
  });

  it('keeps waking after its listening connection is cut', async () => {
    const tenant = await a.newTenant();
    const token = await tenant.token();
    const onB = await StreamClient.open(b, `/${tenant.name}/live/events/ws`, token);
    await onB.subscribe({ id: 'all' });
    const admin = new pg.Client({ connectionString: a.config.databaseUrl });
    await admin.connect();
    try {
      const cut = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen kith_events'`,
      );
      expect(cut.rowCount).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.end();
    }
    // Reconnection takes a moment; a write made meanwhile is caught up when it is back (onResync).
    await a.request('POST', `/${tenant.name}/live/contacts`, { token, body: contact() });
    expect(await onB.eventsUntil(1, 'all', 5000)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await a.request('POST', `/${tenant.name}/live/contacts`, { token, body: contact() });
    expect((await onB.eventsUntil(2, 'all', 5000)).map((e) => e.sequence)).toEqual([1, 2]);
    onB.close();
  });
});
