import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import { startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite, type SecuredRoute } from '../../../test/security-suite.ts';
import { workspace, type Created } from './webhooks.fixtures.ts';
import type { Webhook } from './webhooks.schemas.ts';
import { DestinationGuard, parseAllowRule } from './webhooks.ssrf.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith({ webhookAllowedHosts: ['127.0.0.1'] });
});
afterAll(async () => {
  await kith.services.webhooks.dispatcher.close();
  await kith.close();
});

type ErrorBody = Array<{
  errorCode: string;
  details: { fields?: Array<{ field: string; message: string }> };
}>;
type Page = { data: Webhook[]; metaInfo: { totalElements: number } };
const CONTACT_TYPES = ['contact.created', 'contact.updated', 'contact.deleted', 'contact.restored'];

describe('webhooks: endpoints', () => {
  it('creates an endpoint and shows its Standard Webhooks secret once', async () => {
    const s = await workspace(kith);
    const res = await s.call<Created>('POST', '/webhooks', {
      body: { url: s.receiver.url(), eventTypes: ['contact.created'], description: 'CRM sync' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^wh_[0-9a-f]{32}$/) as string,
      url: s.receiver.url(),
      description: 'CRM sync',
      eventTypes: ['contact.created'],
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
      previousSecretExpiresAt: null,
      createdBy: expect.any(String) as string,
      createdAt: expect.any(String) as string,
      updatedAt: res.body.createdAt,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/) as string,
    });
    expect(Buffer.from(res.body.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(res.headers.get('location')).toBe(`${s.root}/webhooks/${res.body.id}`);
    const { secret: _secret, ...shown } = res.body;
    const read = await s.call<Webhook>('GET', `/webhooks/${res.body.id}`);
    expect(read.body).toEqual(shown);
    expect(read.text).not.toContain(res.body.secret);
    const list = await s.call<Page>('GET', '/webhooks');
    expect(list.body.data).toEqual([shown]);
    expect(list.body.metaInfo.totalElements).toBe(1);
    expect(list.text).not.toContain('whsec_');
  });

  it('without eventTypes subscribes to every type the client may read, and refuses others with a 403', async () => {
    const s = await workspace(kith);
    const all = await s.hook();
    expect(all.eventTypes).toHaveLength(12);
    const reader = await s.tenant.addClient({
      policy: {
        name: 'contacts-hooks',
        grants: [
          { resource: 'contacts', actions: ['read'] },
          { resource: 'webhooks', actions: ['*'] },
        ],
      },
    });
    const as = (body: unknown, method = 'POST', path = '/webhooks') =>
      kith.request<Created>(method, `${s.root}${path}`, { token: reader.token, body });
    const own = await as({ url: s.receiver.url() });
    expect(own.status).toBe(201);
    expect(own.body.eventTypes).toEqual(CONTACT_TYPES);
    expect((await as({ url: s.receiver.url(), eventTypes: ['company.created'] })).status).toBe(403);
    expect((await as({ eventTypes: ['patient.created'] }, 'PATCH', `/webhooks/${own.body.id}`)).status).toBe(
      403,
    );
    const none = await s.tenant.addClient({
      policy: { name: 'hooks-only', grants: [{ resource: 'webhooks', actions: ['*'] }] },
    });
    const refused = await kith.request('POST', `${s.root}/webhooks`, {
      token: none.token,
      body: { url: s.receiver.url() },
    });
    expect(refused.status).toBe(403);
  });

  it('changes url, filter and description; disabling and enabling say why and when', async () => {
    const s = await workspace(kith);
    const hook = await s.hook({ description: 'x' });
    const patched = await s.call<Webhook>('PATCH', `/webhooks/${hook.id}`, {
      body: { url: s.receiver.url('/v2'), eventTypes: ['company.deleted'], description: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      url: s.receiver.url('/v2'),
      eventTypes: ['company.deleted'],
      description: null,
      enabled: true,
    });
    const off = await s.call<Webhook>('PATCH', `/webhooks/${hook.id}`, { body: { enabled: false } });
    expect(off.body.enabled).toBe(false);
    expect(off.body.disabledReason).toMatch(/^Disabled by API_CLIENT:/);
    expect(off.body.disabledAt).not.toBeNull();
    const on = await s.call<Webhook>('PATCH', `/webhooks/${hook.id}`, { body: { enabled: true } });
    expect(on.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
  });

  it('deletes an endpoint; it is then a 404, exactly like an id of another tenant', async () => {
    const s = await workspace(kith);
    const other = await workspace(kith);
    const hook = await s.hook();
    expect((await s.call('DELETE', `/webhooks/${hook.id}`)).status).toBe(204);
    const gone = await s.call('GET', `/webhooks/${hook.id}`);
    expect(gone.status).toBe(404);
    const theirs = await other.hook();
    const withoutDate = (body: unknown) =>
      (body as Array<Record<string, unknown>>).map(({ date: _d, ...r }) => r);
    for (const [method, path] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/rotate-secret'],
      ['POST', '/test'],
    ] as const) {
      const body = method === 'PATCH' ? { description: 'x' } : undefined;
      const foreign = await s.call(method, `/webhooks/${theirs.id}${path}`, { body });
      const random = await s.call(method, `/webhooks/wh_${randomUUID().replace(/-/g, '')}${path}`, { body });
      expect(foreign.status, `${method} ${path}`).toBe(404);
      expect(withoutDate(foreign.body)).toEqual(withoutDate(random.body));
    }
    const replay = await s.call('POST', `/webhooks/${theirs.id}/replay`, { body: { eventId: 'evt_x' } });
    expect(replay.status).toBe(404);
    expect((await other.call('GET', `/webhooks/${theirs.id}`)).status).toBe(200);
  });

  it('refuses unknown fields, unknown event types and malformed URLs with a 400 naming the field', async () => {
    const s = await workspace(kith);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: s.receiver.url(), secret: 'whsec_mine' }, 'secret'],
      [{ url: s.receiver.url(), eventTypes: ['contact.exploded'] }, 'eventTypes[0]'],
      [{ url: s.receiver.url(), eventTypes: [] }, 'eventTypes'],
      [{ url: 'not a url' }, 'url'],
      [{ url: `https://${'a'.repeat(2100)}.example.com/` }, 'url'],
      [{}, 'url'],
    ];
    for (const [body, field] of cases) {
      const res = await s.call('POST', '/webhooks', { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      const fields = (res.body as ErrorBody)[0]!.details.fields!.map((f) => f.field);
      expect(fields).toContain(field);
    }
    expect((await s.call<Page>('GET', '/webhooks')).body.metaInfo.totalElements).toBe(0);
  });
});

describe('webhooks: server-side request forgery guard', () => {
  it.each([
    ['http://10.0.0.1/hook', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.10:8080/', 'private'],
    ['http://127.0.0.2/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:9/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd00:ec2::254]/', 'unique-local'],
    ['http://100.100.100.200/', 'carrier-grade NAT'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://0x7f000002/', 'loopback'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['ftp://example.com/', 'http or https'],
    ['http://user:pw@example.com/', 'credentials'],
  ])('refuses %s when it is not allowlisted', async (url, why) => {
    const s = await workspace(kith);
    const res = await s.call('POST', '/webhooks', { body: { url } });
    expect(res.status).toBe(400);
    const [field] = (res.body as ErrorBody)[0]!.details.fields!;
    expect(field!.field).toBe('url');
    expect(field!.message).toContain(why);
    const hook = await s.hook();
    const patched = await s.call('PATCH', `/webhooks/${hook.id}`, { body: { url } });
    expect(patched.status).toBe(400);
  });

  it('accepts public addresses and names, and what the operator allowlisted', () => {
    const guard = new DestinationGuard(['10.1.0.0/16', 'intranet.local:8443', '[::1]'], 1000);
    const refusal = (url: string) => guard.refusal(new URL(url));
    expect(refusal('https://93.184.215.14/')).toBeUndefined();
    expect(refusal('https://hooks.example.com/x')).toBeUndefined();
    expect(refusal('http://[2606:4700::1111]/')).toBeUndefined();
    expect(refusal('http://10.1.2.3/')).toBeUndefined();
    expect(refusal('http://10.2.0.1/')).toMatch(/private/);
    expect(refusal('https://intranet.local:8443/')).toBeUndefined();
    expect(refusal('http://[::1]:9000/')).toBeUndefined();
    expect(refusal('http://127.0.0.1/')).toMatch(/loopback/);
    return guard.close();
  });

  it('validates KITH_WEBHOOK_ALLOWED_HOSTS at start', () => {
    expect(
      loadConfig({ KITH_WEBHOOK_ALLOWED_HOSTS: ' 127.0.0.1, localhost:8080 ,10.0.0.0/8' })
        .webhookAllowedHosts,
    ).toEqual(['127.0.0.1', 'localhost:8080', '10.0.0.0/8']);
    for (const bad of ['10.0.0.0/99', 'http://x/y', 'a b']) {
      expect(() => loadConfig({ KITH_WEBHOOK_ALLOWED_HOSTS: bad })).toThrow(ConfigError);
    }
    expect(() => parseAllowRule('host:notaport')).toThrow();
  });
});

const id = `wh_${'0'.repeat(32)}`;
const routes: Array<Omit<SecuredRoute, 'instanceScoped' | 'tenantScoped'>> = [
  {
    method: 'POST',
    path: (t, i) => `/${t}/${i}/webhooks`,
    permission: 'webhooks:create',
    body: { url: 'https://example.com/' },
  },
  { method: 'GET', path: (t, i) => `/${t}/${i}/webhooks`, permission: 'webhooks:read' },
  { method: 'GET', path: (t, i) => `/${t}/${i}/webhooks/${id}`, permission: 'webhooks:read' },
  { method: 'PATCH', path: (t, i) => `/${t}/${i}/webhooks/${id}`, permission: 'webhooks:update', body: {} },
  { method: 'DELETE', path: (t, i) => `/${t}/${i}/webhooks/${id}`, permission: 'webhooks:delete' },
  {
    method: 'POST',
    path: (t, i) => `/${t}/${i}/webhooks/${id}/rotate-secret`,
    permission: 'webhooks:update',
  },
  { method: 'POST', path: (t, i) => `/${t}/${i}/webhooks/${id}/test`, permission: 'webhooks:update' },
  {
    method: 'POST',
    path: (t, i) => `/${t}/${i}/webhooks/${id}/replay`,
    permission: 'webhooks:update',
    body: { eventId: 'evt_x' },
  },
];

for (const route of routes) securitySuite(() => kith, { ...route, instanceScoped: true, tenantScoped: true });
securitySuite(() => kith, {
  method: 'GET',
  path: (t) => `/${t}/admin/audit-webhook`,
  permission: 'webhooks:read',
  instanceScoped: false,
  tenantScoped: true,
});
