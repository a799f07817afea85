// The address-book API of seed 004, served at `/api/v1/contacts` (the client's default instance) and
// `/{tenant}/{instance}/api/v1/contacts`: snake_case over the contact service, `{data}` / `{data, meta}` envelopes,
// `{error}` errors. Its event stream is address-book.stream.ts. The mapping of each rule: docs/face-address-book.md.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { etagOf, parseIfMatch } from '../../platform/http/etag.ts';
import { isSet } from '../../platform/http/schema-helpers.ts';
import type { KithApp } from '../../platform/http/types.ts';
import { toListFilter } from '../../modules/contacts/contacts.query.ts';
import { DeleteQuery, type Contact as ModelContact } from '../../modules/contacts/contacts.schemas.ts';
import type { Services } from '../../services.ts';
import { renderError } from './address-book.errors.ts';
import { inWireTerms, toInput, toListQuery, toWire, toWireCompact } from './address-book.mapping.ts';
import {
  type CompactContact,
  type Contact,
  ContactCreate,
  ContactPatch,
  CustomFieldsPatch,
  errorResponses,
  List,
  ListQuery,
  MOUNTS,
  Single,
  tags,
  type Mount,
} from './address-book.schemas.ts';

/** A single record's envelope, with the ETag that If-Match takes back. */
function single(reply: FastifyReply, contact: ModelContact) {
  void reply.header('etag', etagOf(contact.version));
  return { data: toWire(contact) };
}

export async function addressBookRoutes(app: KithApp, { services }: { services: Services }) {
  for (const mount of MOUNTS) contactRoutes(app, services, mount);
}

function contactRoutes(app: KithApp, { contacts }: Services, mount: Mount) {
  const base = `${mount.prefix}/contacts`;
  const config = { renderError, ...(mount.scope ? { scope: mount.scope } : {}) };
  const { idParams } = mount;

  app.post(
    base,
    {
      config: { ...config, permission: 'contacts:create' },
      schema: {
        tags,
        summary: 'Create a contact (display_name is generated from the names when absent)',
        params: mount.params,
        body: ContactCreate,
        response: { 201: Single, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = writeContextOf(request);
      const contact = await inWireTerms(() => contacts.create(ctx, toInput(request.body)));
      return single(reply.code(201), contact);
    },
  );

  app.get(
    base,
    {
      config: { ...config, permission: 'contacts:read', audit: { action: 'list', resource: 'contact' } },
      schema: {
        tags,
        summary: 'List, filter and search contacts',
        description:
          'search matches word prefixes of names, emails, phones, company and notes; tag repeats for AND; ' +
          'company is a partial, case-insensitive match; format=compact returns id, display_name, email, ' +
          'phone, company and tags.',
        params: mount.params,
        querystring: ListQuery,
        response: { 200: List, ...errorResponses },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const query = toListQuery(request.query);
      const page = await inWireTerms(() =>
        contacts.list(scope, toListFilter(query, scope.phoneRegion), query),
      );
      const wire: (c: ModelContact) => Contact | CompactContact =
        request.query.format === 'compact' ? toWireCompact : toWire;
      const { totalElements: total, pageSize: limit, offset } = page.metaInfo;
      return { data: page.data.map(wire), meta: { total, limit, offset } };
    },
  );

  app.get(
    `${base}/:id`,
    {
      config: { ...config, permission: 'contacts:read', audit: { action: 'read', resource: 'contact' } },
      schema: {
        tags,
        summary: 'Get a contact (404 when it does not exist or is soft-deleted)',
        params: idParams,
        response: { 200: Single, ...errorResponses },
      },
    },
    async (request, reply) => single(reply, await contacts.get(scopeOf(request), request.params.id)),
  );

  app.patch(
    `${base}/:id`,
    {
      config: { ...config, permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Update the fields sent (null clears one)',
        params: idParams,
        body: ContactPatch,
        response: { 200: Single, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = writeContextOf(request);
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const input = toInput(request.body);
      const contact = await inWireTerms(() => contacts.update(ctx, request.params.id, input, { ifMatch }));
      return single(reply, contact);
    },
  );

  app.patch(
    `${base}/:id/custom`,
    {
      config: { ...config, permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Shallow-merge into custom_fields (a null value removes its key)',
        params: idParams,
        body: CustomFieldsPatch,
        response: { 200: Single, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = writeContextOf(request);
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const contact = await inWireTerms(() =>
        contacts.mergeCustomFields(ctx, request.params.id, request.body, { ifMatch }),
      );
      return single(reply, contact);
    },
  );

  app.delete(
    `${base}/:id`,
    {
      config: { ...config, permission: 'contacts:delete' },
      schema: {
        tags,
        summary: 'Soft delete (sets deleted_at); ?permanent=true deletes for good',
        params: idParams,
        querystring: DeleteQuery,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await contacts.remove(writeContextOf(request), request.params.id, {
        permanent: isSet(request.query.permanent),
        ifMatch: parseIfMatch(request.headers['if-match']),
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:id/restore`,
    {
      config: { ...config, permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Clear deleted_at: the contact reappears in listings',
        params: idParams,
        response: { 200: Single, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = writeContextOf(request);
      const ifMatch = parseIfMatch(request.headers['if-match']);
      return single(reply, await inWireTerms(() => contacts.restore(ctx, request.params.id, { ifMatch })));
    },
  );
}
