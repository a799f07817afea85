// The company-contacts API of seed 003, served at `/contacts` and `/{tenant}/{instance}/contacts-api/contacts`.
import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.ts';

export const companyContactsRoutes: FastifyPluginAsync<{ services: Services }> = async () => {};
