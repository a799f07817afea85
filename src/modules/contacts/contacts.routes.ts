// The contact directory: every contact of an instance, linked to a patient, a company, or standalone.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../../platform/http/etag.ts';
import { scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { isSet } from '../../platform/http/schema-helpers.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { toListFilter, toCompact } from './contacts.query.ts';
import {
  CompanyContactsParams,
  CompanyContactsQuery,
  Contact,
  ContactInput,
  ContactList,
  ContactParams,
  CustomFieldsPatch,
  DeleteQuery,
  ListQuery,
} from './contacts.schemas.ts';

const tags = ['contacts'];

/** Single-contact responses carry the ETag that If-Match takes back. */
export function withETag(reply: FastifyReply, contact: Contact): Contact {
  void reply.header('etag', etagOf(contact.version));
  return contact;
}

export async function contactsRoutes(app: KithApp, { services }: { services: Services }) {
  const { contacts } = services;

  app.post(
    '/:tenant/:instance/contacts',
    {
      config: { permission: 'contacts:create' },
      schema: {
        tags,
        summary: 'Create a contact',
        params: InstanceParams,
        body: ContactInput,
        response: { 201: Contact },
      },
    },
    async (request, reply) => {
      const contact = await contacts.create(writeContextOf(request), request.body);
      return withETag(reply.code(201), contact);
    },
  );

  app.get(
    '/:tenant/:instance/contacts',
    {
      config: { permission: 'contacts:read', audit: { action: 'list', resource: 'contact' } },
      schema: {
        tags,
        summary: 'List, filter and search contacts',
        description:
          'Paging by limit/offset, page/size, or cursor (metaInfo.nextCursor, constant cost at any depth). ' +
          'search matches word prefixes of names, emails, phones, company and notes, tolerates one typo in a ' +
          'name, and finds a phone whatever its format. totalElements is exact up to 1,000 matches and may be ' +
          'an estimate beyond (metaInfo.totalIsEstimate).',
        params: InstanceParams,
        querystring: ListQuery,
        response: { 200: ContactList },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const page = await contacts.list(scope, toListFilter(request.query, scope.phoneRegion), request.query);
      return request.query.format === 'compact' ? { ...page, data: page.data.map(toCompact) } : page;
    },
  );

  app.get(
    '/:tenant/:instance/contacts/:id',
    {
      config: { permission: 'contacts:read', audit: { action: 'read', resource: 'contact' } },
      schema: { tags, summary: 'Get a contact', params: ContactParams, response: { 200: Contact } },
    },
    async (request, reply) => withETag(reply, await contacts.get(scopeOf(request), request.params.id)),
  );

  app.patch(
    '/:tenant/:instance/contacts/:id',
    {
      config: { permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Update a contact (only the fields sent; null clears)',
        params: ContactParams,
        body: ContactInput,
        response: { 200: Contact },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const contact = await contacts.update(writeContextOf(request), request.params.id, request.body, {
        ifMatch,
      });
      return withETag(reply, contact);
    },
  );

  app.patch(
    '/:tenant/:instance/contacts/:id/custom',
    {
      config: { permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Merge into customFields (a null value removes its key)',
        params: ContactParams,
        body: CustomFieldsPatch,
        response: { 200: Contact },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const contact = await contacts.mergeCustomFields(
        writeContextOf(request),
        request.params.id,
        request.body,
        {
          ifMatch,
        },
      );
      return withETag(reply, contact);
    },
  );

  app.delete(
    '/:tenant/:instance/contacts/:id',
    {
      config: { permission: 'contacts:delete' },
      schema: {
        tags,
        summary: 'Move a contact to the trash, or delete it for good with permanent=true',
        params: ContactParams,
        querystring: DeleteQuery,
        response: { 204: Type.Null() },
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
    '/:tenant/:instance/contacts/:id/restore',
    {
      config: { permission: 'contacts:update' },
      schema: {
        tags,
        summary: 'Take a contact out of the trash',
        params: ContactParams,
        response: { 200: Contact },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      return withETag(reply, await contacts.restore(writeContextOf(request), request.params.id, { ifMatch }));
    },
  );

  app.get(
    '/:tenant/:instance/companies/:companyId/contacts',
    {
      config: { permission: 'contacts:read', audit: { action: 'list', resource: 'contact' } },
      schema: {
        tags: ['companies', 'contacts'],
        summary: "A company's contacts (skip/limit or page/size)",
        params: CompanyContactsParams,
        querystring: CompanyContactsQuery,
        response: { 200: ContactList },
      },
    },
    async (request) => {
      const page = await contacts.listForCompany(scopeOf(request), request.params.companyId, request.query);
      return request.query.format === 'compact' ? { ...page, data: page.data.map(toCompact) } : page;
    },
  );
}
