// The address-book API of seed 004, served at `/api/v1/contacts` and `/{tenant}/{instance}/api/v1/contacts`.
import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.ts';

export const addressBookRoutes: FastifyPluginAsync<{ services: Services }> = async () => {};
