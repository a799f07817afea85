import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/database.ts';
import { startKith, type Kith } from '../../../test/harness.ts';
import { DISABLE_AFTER_MS, RETRY_SCHEDULE_MS, WebhookDispatcher } from './webhooks.dispatcher.ts';
import { drain, startReceiver, workspace } from './webhooks.fixtures.ts';
import type { Webhook } from './webhooks.schemas.ts';
import { WebhookSender } from './webhooks.sender.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith({ webhookAllowedHosts: ['127.0.0.1'] });
});
afterAll(async () => {
  await kith.services.webhooks.dispatcher.close();
  await kith.close();
});

const SECOND = 1000;
const tick = () => kith.services.webhooks.dispatcher.tick();

/** Runs `body` with the test clock free to move, and puts it back afterwards. */
async function withClock(body: () => Promise<void>) {
  try {
    await body();
  } finally {
    kith.clock.reset();
  }
}

describe('webhooks: retries and disabling', () => {
  it('retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then gives up', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    s.receiver.answer(() => ({ status: 500 }));
    await s.contact();
    await withClock(async () => {
      await drain(kith);
      expect(s.receiver.received).toHaveLength(1);
      for (const [i, wait] of RETRY_SCHEDULE_MS.entries()) {
        kith.clock.advance(wait - 2 * SECOND);
        await drain(kith);
        expect(s.receiver.received, `not before wait ${i}`).toHaveLength(i + 1);
        kith.clock.advance(2 * SECOND);
        await drain(kith);
        expect(s.receiver.received, `after wait ${i}`).toHaveLength(i + 2);
      }
      kith.clock.advance(48 * 3600 * SECOND);
      await drain(kith);
      expect(s.receiver.received).toHaveLength(8);
      await s.refreshToken();
      const log = await s.log(`?endpointId=${hook.id}`);
      const attempts = log.body.data.reverse();
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(new Set(attempts.map((a) => a.statusCode))).toEqual(new Set(['INTERNAL_SERVER_ERROR']));
      const gaps = attempts
        .slice(1)
        .map((a, i) => Date.parse(a.sentAt as string) - Date.parse(attempts[i]!.sentAt as string));
      gaps.forEach((gap, i) => expect(Math.abs(gap - RETRY_SCHEDULE_MS[i]!)).toBeLessThan(5 * SECOND));
      const after = await s.call<Webhook>('GET', `/webhooks/${hook.id}`);
      expect(after.body.enabled).toBe(true);
      expect(after.body.failingSince).toBe(attempts[0]!.sentAt);
    });
  });

  it('a 410 Gone disables the endpoint at once, cancels its queue, and says why', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    s.receiver.answer(() => ({ status: 410 }));
    const a = await s.contact();
    await s.call('PATCH', `/contacts/${a}`, { body: { notes: 'x' } });
    await drain(kith);
    expect(s.receiver.received).toHaveLength(1);
    const disabled = await s.call<Webhook>('GET', `/webhooks/${hook.id}`);
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'The endpoint answered 410 Gone' });
    await s.contact();
    await withClock(async () => {
      kith.clock.advance(60 * SECOND);
      await drain(kith);
    });
    expect(s.receiver.received).toHaveLength(1);
    s.receiver.answer(() => ({ status: 200 }));
    await s.call('PATCH', `/webhooks/${hook.id}`, { body: { enabled: true } });
    await s.contact();
    await drain(kith);
    expect(s.receiver.received.map((r) => r.event.type)).toEqual(['contact.created', 'contact.created']);
  });

  it('disables an endpoint whose every attempt failed for 5 days, with the reason on GET', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    s.receiver.answer(() => ({ status: 502 }));
    await s.contact();
    await withClock(async () => {
      await drain(kith);
      kith.clock.advance(DISABLE_AFTER_MS - 3600 * SECOND);
      await s.refreshToken();
      await s.contact();
      await drain(kith);
      const failing = await s.call<Webhook>('GET', `/webhooks/${hook.id}`);
      expect(failing.body).toMatchObject({ enabled: true, disabledReason: null });
      kith.clock.advance(3600 * SECOND + 10 * SECOND);
      await drain(kith);
      await s.refreshToken();
      const disabled = await s.call<Webhook>('GET', `/webhooks/${hook.id}`);
      expect(disabled.body.enabled).toBe(false);
      expect(disabled.body.disabledReason).toMatch(
        /failed for more than 5 days \(since .+\); last error: HTTP 502/,
      );
    });
  });

  it('a success ends the run of failures', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    s.receiver.answer((_, i) => ({ status: i === 0 ? 500 : 200 }));
    await s.contact();
    await drain(kith);
    expect((await s.call<Webhook>('GET', `/webhooks/${hook.id}`)).body.failingSince).not.toBeNull();
    await withClock(async () => {
      kith.clock.advance(5 * SECOND);
      await drain(kith);
    });
    expect((await s.call<Webhook>('GET', `/webhooks/${hook.id}`)).body.failingSince).toBeNull();
  });

  it('refuses at connect time a name that resolves to a loopback address', async () => {
    const s = await workspace(kith);
    const hook = await s.hook({ url: `http://localhost:${s.receiver.port}/hook` });
    await s.contact();
    await drain(kith);
    expect(s.receiver.received).toEqual([]);
    const [attempt] = (await s.log(`?endpointId=${hook.id}`)).body.data;
    expect(attempt).toMatchObject({ status: 'FAILED', httpStatus: null });
    expect(attempt!.error).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
  });
});

describe('webhooks: what the sender does not do', () => {
  const sender = (timeoutMs = 10_000) =>
    new WebhookSender({ clock: kith.clock, allowlist: ['127.0.0.1'], timeoutMs });

  it('does not follow redirects, gives up after its timeout, and reads only 4 KiB of an answer', async () => {
    const receiver = await startReceiver();
    const quick = sender(300);
    try {
      receiver.answer((r) =>
        r.path === '/moved'
          ? { status: 302, headers: { location: receiver.url('/elsewhere') } }
          : r.path === '/slow'
            ? { status: 200, hang: true }
            : { status: 200, body: 'y'.repeat(1024 * 1024) },
      );
      const moved = await quick.send({ url: receiver.url('/moved'), secrets: ['whsec_AAAA'] }, 'evt_1', '{}');
      expect(moved).toMatchObject({ status: 'FAILED', httpStatus: 302 });
      expect(moved.error).toContain('not followed');
      expect(receiver.received.map((r) => r.path)).toEqual(['/moved']);
      const started = Date.now();
      const slow = await quick.send({ url: receiver.url('/slow'), secrets: ['whsec_AAAA'] }, 'evt_2', '{}');
      expect(slow).toMatchObject({ status: 'FAILED', httpStatus: null, error: 'timed out' });
      expect(Date.now() - started).toBeLessThan(3000);
      const big = await quick.send({ url: receiver.url('/big'), secrets: ['whsec_AAAA'] }, 'evt_3', '{}');
      expect(big.status).toBe('DELIVERED');
      expect(big.response).toHaveLength(4096);
    } finally {
      await quick.close();
      await receiver.close();
    }
  });
});

describe('webhooks: several nodes', () => {
  /**
   * A second node: its own connection pool on PostgreSQL. On SQLite it shares the first node's connection:
   * better-sqlite3 waits for a lock synchronously, so two connections in one process would block each other
   * (separate processes are fine), and SQLite's single writer is what orders the claims there anyway.
   */
  function secondNode() {
    const shared = kith.config.databaseUrl === undefined;
    const database = shared ? kith.database : openDatabase(kith.config);
    const dispatcher = new WebhookDispatcher({
      database,
      clock: kith.clock,
      sender: new WebhookSender({ clock: kith.clock, allowlist: ['127.0.0.1'], timeoutMs: 10_000 }),
      options: { pollMs: 1000, retentionDays: 30 },
    });
    return {
      dispatcher,
      close: async () => {
        await dispatcher.close();
        if (!shared) await database.close();
      },
    };
  }

  it('two dispatchers on one database deliver each event once', async () => {
    const s = await workspace(kith);
    await s.hook();
    for (let i = 0; i < 30; i++) await s.contact();
    const other = secondNode();
    try {
      let attempted = 0;
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all([tick(), other.dispatcher.tick()]);
        const work = results.reduce((n, r) => n + r.queued + r.attempted, 0);
        attempted += results.reduce((n, r) => n + r.attempted, 0);
        if (work === 0) break;
      }
      expect(attempted).toBeGreaterThanOrEqual(30);
    } finally {
      await other.close();
    }
    const ids = s.receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect((await s.log('?size=100')).body.metaInfo.totalElements).toBe(30);
  });

  it("resumes a delivery after its node died mid-attempt, once the node's lease has run out", async () => {
    const s = await workspace(kith);
    await s.hook();
    s.receiver.answer((_, i) => ({ status: 200, hang: i === 0 }));
    await s.contact();
    const other = secondNode();
    try {
      // The first node claims the delivery and then hangs on it, as a node that died would.
      const dying = tick();
      while (s.receiver.received.length === 0) await new Promise((r) => setTimeout(r, 10));
      await other.dispatcher.tick();
      expect(s.receiver.received).toHaveLength(1);
      await withClock(async () => {
        kith.clock.advance(61 * SECOND);
        expect((await other.dispatcher.tick()).delivered).toBeGreaterThanOrEqual(1);
      });
      expect(s.receiver.received).toHaveLength(2);
      s.receiver.release();
      await dying;
    } finally {
      await other.close();
    }
    expect(s.receiver.received).toHaveLength(2);
    expect(s.receiver.received[1]!.headers['webhook-id']).toBe(s.receiver.received[0]!.headers['webhook-id']);
  });
});
