// Test helpers: a real HTTP receiver on 127.0.0.1 that records what it is sent and answers as a test tells it,
// and a workspace (tenant, token, receiver, endpoint) per test. Used only by the webhooks tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { contact } from '../../../test/factories.ts';
import type { Kith, RequestOptions, TestTenant } from '../../../test/harness.ts';
import type { Event } from '../events/events.schemas.ts';
import type { Webhook } from './webhooks.schemas.ts';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  event: Event;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (until the test releases it with `release`). */
  hang?: boolean;
}

export interface Receiver {
  received: Received[];
  url(path?: string): string;
  port: number;
  /** Decides each answer; 200 by default. Gets the request and how many came before it. */
  answer(decide: (request: Received, index: number) => Answer): void;
  /** Answers every request left hanging with 200. */
  release(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  let decide: (request: Received, index: number) => Answer = () => ({ status: 200 });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      let event = {} as Event;
      try {
        event = JSON.parse(body) as Event;
      } catch {
        // not JSON: kept as text in `body`
      }
      const request = { path: req.url ?? '/', headers, body, event };
      const answer = decide(request, received.length);
      received.push(request);
      if (answer.hang) {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    received,
    port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    answer: (fn) => (decide = fn),
    release: () => {
      for (const res of hanging.splice(0)) if (!res.destroyed) res.writeHead(200).end();
    },
    close: async () => {
      receiver.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

export type Created = Webhook & { secret: string };

/** A fresh tenant, a token, a receiver (closed after the test) and helpers on /{t}/live. */
export async function workspace(kith: Kith, tenant?: TestTenant) {
  const t = tenant ?? (await kith.newTenant());
  let token = await t.token();
  const receiver = await startReceiver();
  onTestFinished(() => receiver.close());
  const root = `/${t.name}/live`;
  const call = <T = unknown>(method: string, path: string, options: RequestOptions = {}) =>
    kith.request<T>(method, `${root}${path}`, { token, ...options });
  return {
    tenant: t,
    root,
    receiver,
    call,
    /** A new token: after the clock moved past the old one's hour. */
    refreshToken: async () => {
      token = await t.token();
    },
    async hook(body: Record<string, unknown> = {}): Promise<Created> {
      const res = await call<Created>('POST', '/webhooks', { body: { url: receiver.url(), ...body } });
      if (res.status !== 201) throw new Error(`webhook create failed: ${res.status} ${res.text}`);
      return res.body;
    },
    async contact(overrides: Record<string, unknown> = {}): Promise<string> {
      const res = await call<{ id: string }>('POST', '/contacts', {
        body: contact(overrides),
      });
      if (res.status !== 201) throw new Error(`contact create failed: ${res.status} ${res.text}`);
      return res.body.id;
    },
    log: (query = '') =>
      kith.request<{ data: Array<Record<string, unknown>>; metaInfo: { totalElements: number } }>(
        'GET',
        `/${t.name}/admin/audit-webhook${query}`,
        { token },
      ),
  };
}

/** Runs dispatcher passes until one finds nothing to do (at most `max`). */
export async function drain(kith: Kith, max = 10): Promise<void> {
  for (let i = 0; i < max; i++) {
    const { queued, attempted } = await kith.services.webhooks.dispatcher.tick();
    if (queued === 0 && attempted === 0) return;
  }
}
