// The company-contacts API of seed 003, served at `/contacts` (the calling client's default instance) and at
// `/{tenant}/{instance}/contacts-api/contacts`: its wire format over the contact service.
// docs/face-company-contacts.md maps each of the seed's rules.
import { Type } from 'typebox';
import type { Principal } from '../../platform/auth/authenticator.ts';
import { KithError } from '../../platform/errors.ts';
import { isAnonymous, principalOf, scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { Id } from '../../platform/http/schema-helpers.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Preconditions } from '../../modules/contacts/contacts.service.ts';
import type { Services } from '../../services.ts';
import { intakeResolvers } from './company-contacts.intake.ts';
import { CREATE_LIMIT, GENERAL_LIMIT, rateLimited } from './company-contacts.limits.ts';
import { COMPANY_FORBIDDEN, DETAIL, renderFaceError, toFace, toInput } from './company-contacts.mapping.ts';
import {
  BareParams,
  ContactCreate,
  ContactPatch,
  FaceContact,
  LIST_DEFAULT_LIMIT,
  ListQuery,
  ScopedParams,
  TAGS,
  responses,
} from './company-contacts.schemas.ts';

const PUBLIC =
  "Public (no token) in an instance whose public contact intake is on; see the face's guide. Otherwise:";

function companyForbidden(): KithError {
  return new KithError('ACCESS_FOR_API_CLIENT_RESTRICTED', { details: { [DETAIL]: COMPANY_FORBIDDEN } });
}

/** A company the caller may not see and one that does not exist answer alike. */
function forbidUnknownCompany(error: unknown): never {
  throw error instanceof KithError && error.code === 'NOT_FOUND' ? companyForbidden() : error;
}

/** A company-limited client may only put contacts into its own companies (never outside every company). */
function checkPlacement(principal: Principal, companyId: string | null): void {
  if (principal.companies && (companyId === null || !principal.companies.has(companyId))) {
    throw companyForbidden();
  }
}

/**
 * What a caller sees: only its policy's companies' contacts, when the policy has that limit; and, anonymous,
 * never a patient's contact (public intake must not become a way to read patient data).
 */
function visibility(principal: Principal): Pick<Preconditions, 'companies' | 'patientId'> {
  return {
    ...(principal.companies ? { companies: principal.companies } : {}),
    ...(isAnonymous(principal) ? { patientId: null } : {}),
  };
}

export async function companyContactsRoutes(app: KithApp, { services }: { services: Services }) {
  const { contacts, rateLimits, clock } = services;
  const intake = intakeResolvers(services.tenants, services.config);
  const limitCreate = rateLimited(rateLimits, clock, CREATE_LIMIT);
  const limitOther = rateLimited(rateLimits, clock, GENERAL_LIMIT);
  const renderError = renderFaceError;
  // One definition per route, served at both places.
  const mounts = [
    { path: '/contacts', params: BareParams, anonymous: intake.bare, scope: 'default-instance' as const },
    {
      path: '/:tenant/:instance/contacts-api/contacts',
      params: ScopedParams,
      anonymous: intake.scoped,
      scope: undefined,
    },
  ];

  for (const { path, params, anonymous, scope } of mounts) {
    const ItemParams = Type.Object({ ...params.properties, id: Id });

    app.get(
      path,
      {
        onRequest: limitOther,
        config: {
          permission: 'contacts:read',
          audit: { action: 'list', resource: 'contact' },
          scope,
          companyLimited: true,
          renderError,
        },
        schema: {
          tags: TAGS,
          summary: "List a company's contacts",
          description:
            "403 when the client's security policy limits it to other companies, or no such company exists.",
          params,
          querystring: ListQuery,
          response: { 200: Type.Array(FaceContact), ...responses },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { company_id: companyId, skip = 0, limit = LIST_DEFAULT_LIMIT } = request.query;
        if (principal.companies && !principal.companies.has(companyId)) throw companyForbidden();
        const page = await contacts
          .listForCompany(scopeOf(request), companyId, { skip, limit, sort: 'createdAt' })
          .catch(forbidUnknownCompany);
        return page.data.map(toFace);
      },
    );

    app.get(
      `${path}/:id`,
      {
        onRequest: limitOther,
        config: {
          permission: 'contacts:read',
          audit: { action: 'read', resource: 'contact' },
          scope,
          anonymous,
          companyLimited: true,
          renderError,
        },
        schema: {
          tags: TAGS,
          summary: 'Get a contact',
          description: PUBLIC,
          params: ItemParams,
          response: { 200: FaceContact, ...responses },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return toFace(await contacts.get(scopeOf(request), request.params.id, visibility(principal)));
      },
    );

    app.post(
      path,
      {
        onRequest: limitCreate,
        config: { permission: 'contacts:create', scope, anonymous, companyLimited: true, renderError },
        schema: {
          tags: TAGS,
          summary: 'Create a contact',
          description: `${PUBLIC} 400 "Company not found" for an unknown company_id.`,
          params,
          body: ContactCreate,
          response: { 201: FaceContact, ...responses },
        },
      },
      async (request, reply) => {
        checkPlacement(principalOf(request), request.body.company_id ?? null);
        const contact = await contacts.create(writeContextOf(request), toInput(request.body));
        return reply.code(201).send(toFace(contact));
      },
    );

    app.patch(
      `${path}/:id`,
      {
        onRequest: limitOther,
        config: { permission: 'contacts:update', scope, anonymous, companyLimited: true, renderError },
        schema: {
          tags: TAGS,
          summary: 'Update a contact (only the fields sent)',
          description: PUBLIC,
          params: ItemParams,
          body: ContactPatch,
          response: { 200: FaceContact, ...responses },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        if (request.body.company_id !== undefined) checkPlacement(principal, request.body.company_id);
        const contact = await contacts.update(
          writeContextOf(request),
          request.params.id,
          toInput(request.body),
          visibility(principal),
        );
        return toFace(contact);
      },
    );

    app.delete(
      `${path}/:id`,
      {
        onRequest: limitOther,
        config: { permission: 'contacts:delete', scope, companyLimited: true, renderError },
        schema: {
          tags: TAGS,
          summary: 'Delete a contact permanently',
          params: ItemParams,
          response: { 204: Type.Null(), ...responses },
        },
      },
      async (request, reply) => {
        const options = { ...visibility(principalOf(request)), permanent: true };
        await contacts.remove(writeContextOf(request), request.params.id, options);
        return reply.code(204).send(null);
      },
    );
  }
}
