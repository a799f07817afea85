// Patient contacts exactly as seed 000 documents them, served by the same contact service as the directory.
import { Type } from 'typebox';
import { parseIfMatch } from '../../platform/http/etag.ts';
import { scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { MetaInfoPageSchema, PageQuery } from '../../platform/http/pagination.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { withETag } from './contacts.routes.ts';
import {
  Contact,
  PatientContactCreate,
  PatientContactItemParams,
  PatientContactParams,
  PatientContactPatch,
} from './contacts.schemas.ts';

const tags = ['patient contacts'];

export async function patientContactsRoutes(app: KithApp, { services }: { services: Services }) {
  const { contacts } = services;

  app.get(
    '/:tenant/:instance/patients/:patientId/contacts',
    {
      config: { permission: 'contacts:read', audit: { action: 'list', resource: 'contact' } },
      schema: {
        tags,
        summary: "A patient's contacts",
        params: PatientContactParams,
        querystring: PageQuery,
        response: { 200: MetaInfoPageSchema(Contact) },
      },
    },
    async (request) => contacts.listForPatient(scopeOf(request), request.params.patientId, request.query),
  );

  app.get(
    '/:tenant/:instance/patients/:patientId/contacts/:contactId',
    {
      config: { permission: 'contacts:read', audit: { action: 'read', resource: 'contact' } },
      schema: {
        tags,
        summary: 'One contact of a patient',
        params: PatientContactItemParams,
        response: { 200: Contact },
      },
    },
    async (request, reply) => {
      const { patientId, contactId } = request.params;
      return withETag(reply, await contacts.get(scopeOf(request), contactId, { patientId }));
    },
  );

  app.post(
    '/:tenant/:instance/patients/:patientId/contacts',
    {
      config: { permission: 'contacts:create' },
      schema: {
        tags,
        summary: 'Add a contact to a patient (firstName, lastName, relationship required)',
        params: PatientContactParams,
        body: PatientContactCreate,
        response: { 201: Contact },
      },
    },
    async (request, reply) => {
      const contact = await contacts.createForPatient(
        writeContextOf(request),
        request.params.patientId,
        request.body,
      );
      return withETag(reply.code(201), contact);
    },
  );

  app.patch(
    '/:tenant/:instance/patients/:patientId/contacts/:contactId',
    {
      config: { permission: 'contacts:update' },
      schema: {
        tags,
        summary: "Update a patient's contact (only the fields sent)",
        params: PatientContactItemParams,
        body: PatientContactPatch,
        response: { 200: Contact },
      },
    },
    async (request, reply) => {
      const { patientId, contactId } = request.params;
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const contact = await contacts.update(writeContextOf(request), contactId, request.body, {
        ifMatch,
        patientId,
      });
      return withETag(reply, contact);
    },
  );

  app.delete(
    '/:tenant/:instance/patients/:patientId/contacts/:contactId',
    {
      config: { permission: 'contacts:delete' },
      schema: {
        tags,
        summary: "Remove a patient's contact (to the trash; restore through /contacts/{id}/restore)",
        params: PatientContactItemParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { patientId, contactId } = request.params;
      const ifMatch = parseIfMatch(request.headers['if-match']);
      await contacts.remove(writeContextOf(request), contactId, { ifMatch, patientId });
      return reply.code(204).send(null);
    },
  );
}
