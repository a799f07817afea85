// Welkin's patient endpoints (reference B.2): create, read by any identifier, patch, delete, and the two lists
// (the documented GET with `metaInfo`, and the `by-filter` POST the Python client uses, as a Spring page).
import { Type } from 'typebox';
import { scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { etagOf, parseIfMatch } from '../../platform/http/etag.ts';
import {
  MetaInfoPageSchema,
  PageQuery,
  SpringPageSchema,
  metaInfoPage,
  springPage,
} from '../../platform/http/pagination.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import {
  IfMatchHeaders,
  LookupQuery,
  PatientCreateBody,
  PatientFilterBody,
  PatientIdentifierParams,
  PatientIdParams,
  PatientListQuery,
  PatientPatchBody,
  PatientSchema,
} from './patients.schemas.ts';

const tags = ['patients'];

export async function patientsRoutes(app: KithApp, { services }: { services: Services }) {
  const { patients } = services;

  app.post(
    '/:tenant/:instance/patients',
    {
      config: { permission: 'patients:create' },
      schema: {
        tags,
        summary: 'Create a patient',
        description: 'Read-only fields (id, createdAt, …) in the body are ignored; unknown fields are a 400.',
        params: InstanceParams,
        body: PatientCreateBody,
        response: { 201: PatientSchema },
      },
    },
    async (request, reply) => {
      const { patient, version } = await patients.create(writeContextOf(request), request.body);
      return reply.code(201).header('etag', etagOf(version)).send(patient);
    },
  );

  app.get(
    '/:tenant/:instance/patients/:id',
    {
      config: { permission: 'patients:read', audit: { action: 'read', resource: 'patient' } },
      schema: {
        tags,
        summary: 'Read a patient by id, externalId, externalGuid or mrn',
        params: PatientIdentifierParams,
        querystring: LookupQuery,
        response: { 200: PatientSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { patient, version } = await patients.get(scopeOf(request), id, request.query.type);
      return reply.header('etag', etagOf(version)).send(patient);
    },
  );

  app.patch(
    '/:tenant/:instance/patients/:id',
    {
      config: { permission: 'patients:update' },
      schema: {
        tags,
        summary: 'Change some fields of a patient',
        params: PatientIdParams,
        headers: IfMatchHeaders,
        body: PatientPatchBody,
        response: { 200: PatientSchema },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const { patient, version } = await patients.update(
        writeContextOf(request),
        request.params.id,
        request.body,
        ifMatch,
      );
      return reply.header('etag', etagOf(version)).send(patient);
    },
  );

  app.delete(
    '/:tenant/:instance/patients/:id',
    {
      config: { permission: 'patients:delete' },
      schema: {
        tags,
        summary: 'Delete a patient and its contacts',
        params: PatientIdentifierParams,
        querystring: LookupQuery,
        headers: IfMatchHeaders,
        response: { 204: Type.Null({ description: 'Deleted' }) },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      await patients.remove(writeContextOf(request), request.params.id, request.query.type, ifMatch);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/:tenant/:instance/patients',
    {
      config: { permission: 'patients:read', audit: { action: 'list', resource: 'patient' } },
      schema: {
        tags,
        summary: 'List patients, oldest first',
        params: InstanceParams,
        querystring: PatientListQuery,
        response: { 200: MetaInfoPageSchema(PatientSchema) },
      },
    },
    async (request) => {
      const { page, size, ...filter } = request.query;
      const { items, total } = await patients.list(scopeOf(request), filter, { page, size });
      return metaInfoPage(items, { page, size }, total);
    },
  );

  app.post(
    '/:tenant/:instance/by-filter/patients',
    {
      config: { permission: 'patients:read', audit: { action: 'list', resource: 'patient' } },
      schema: {
        tags,
        summary: 'List patients matching a filter, oldest first (the form the Python client uses)',
        params: InstanceParams,
        querystring: PageQuery,
        body: PatientFilterBody,
        response: { 200: SpringPageSchema(PatientSchema) },
      },
    },
    async (request) => {
      const { page, size } = request.query;
      const { items, total } = await patients.list(scopeOf(request), request.body, { page, size });
      return springPage(items, { page, size }, total);
    },
  );
}
