// /:tenant/:instance/companies — create, read, list, patch, soft delete and restore. Every single-company response
// carries the company's ETag; PATCH, DELETE and restore honour If-Match.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { etagOf, parseIfMatch } from '../../platform/http/etag.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { metaInfoPage } from '../../platform/http/pagination.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import {
  Company,
  CompanyCreateBody,
  CompanyGetQuery,
  CompanyListQuery,
  CompanyListResponse,
  CompanyParams,
  CompanyPatchBody,
  isSet,
} from './companies.schemas.ts';

const tags = ['companies'];
const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      description: 'An ETag from an earlier response; the write is refused (412) if it is stale',
    }),
  ),
});

const ifMatchOf = (request: FastifyRequest) => parseIfMatch(request.headers['if-match']);
const withETag = (reply: FastifyReply, company: Company) => reply.header('etag', etagOf(company.version));

export async function companiesRoutes(app: KithApp, { services }: { services: Services }) {
  const { companies } = services;

  app.post(
    '/:tenant/:instance/companies',
    {
      config: { permission: 'companies:create' },
      schema: {
        tags,
        summary: 'Create a company',
        description: 'Honours Idempotency-Key. A live company with the same externalId is a 409.',
        params: InstanceParams,
        body: CompanyCreateBody,
        response: { 201: Company },
      },
    },
    async (request, reply) => {
      const company = await companies.create(writeContextOf(request), request.body);
      const { tenant, instance } = request.params;
      reply.header('location', `/${tenant}/${instance}/companies/${company.id}`);
      return withETag(reply, company).code(201).send(company);
    },
  );

  app.get(
    '/:tenant/:instance/companies',
    {
      config: { permission: 'companies:read', audit: { action: 'list', resource: 'company' } },
      schema: {
        tags,
        summary: 'List companies in name order',
        params: InstanceParams,
        querystring: CompanyListQuery,
        response: { 200: CompanyListResponse },
      },
    },
    async (request) => {
      const { includeDeleted, onlyDeleted, ...rest } = request.query;
      const page = { ...rest, includeDeleted: isSet(includeDeleted), onlyDeleted: isSet(onlyDeleted) };
      const { items, total } = await companies.list(scopeOf(request), page);
      return metaInfoPage(items, page, total);
    },
  );

  app.get(
    '/:tenant/:instance/companies/:id',
    {
      config: { permission: 'companies:read', audit: { action: 'read', resource: 'company' } },
      schema: {
        tags,
        summary: 'Get a company',
        description: 'A company in the trash is a 404 unless includeDeleted is set.',
        params: CompanyParams,
        querystring: CompanyGetQuery,
        response: { 200: Company },
      },
    },
    async (request, reply) => {
      const includeDeleted = isSet(request.query.includeDeleted);
      const company = await companies.get(scopeOf(request), request.params.id, { includeDeleted });
      return withETag(reply, company).send(company);
    },
  );

  app.patch(
    '/:tenant/:instance/companies/:id',
    {
      config: { permission: 'companies:update' },
      schema: {
        tags,
        summary: 'Change some fields of a company',
        description:
          'Fields left out are kept; null clears an optional field. address, tags and customFields are ' +
          'replaced as a whole. Read-only fields (id, version, createdAt, …) are refused with a 400.',
        params: CompanyParams,
        headers: IfMatchHeaders,
        body: CompanyPatchBody,
        response: { 200: Company },
      },
    },
    async (request, reply) => {
      const ctx = writeContextOf(request);
      const company = await companies.update(ctx, request.params.id, request.body, ifMatchOf(request));
      return withETag(reply, company).send(company);
    },
  );

  app.delete(
    '/:tenant/:instance/companies/:id',
    {
      config: { permission: 'companies:delete' },
      schema: {
        tags,
        summary: 'Move a company to the trash',
        description:
          "Soft delete: sets deletedAt. The company's contacts are not touched — they keep their companyId " +
          'and their own company text — so restoring the company brings everything back. While deleted, the ' +
          "company's contact list (GET …/companies/{id}/contacts) is a 404.",
        params: CompanyParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null({ description: 'Deleted; the ETag header names the new version' }) },
      },
    },
    async (request, reply) => {
      const company = await companies.remove(writeContextOf(request), request.params.id, ifMatchOf(request));
      return withETag(reply, company).code(204).send();
    },
  );

  app.post(
    '/:tenant/:instance/companies/:id/restore',
    {
      config: { permission: 'companies:delete' },
      schema: {
        tags,
        summary: 'Take a company out of the trash',
        description:
          'Clears deletedAt; a company that is not deleted is returned unchanged. A 409 if another live ' +
          'company has taken its externalId meanwhile.',
        params: CompanyParams,
        headers: IfMatchHeaders,
        response: { 200: Company },
      },
    },
    async (request, reply) => {
      const company = await companies.restore(writeContextOf(request), request.params.id, ifMatchOf(request));
      return withETag(reply, company).send(company);
    },
  );
}
