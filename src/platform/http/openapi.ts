// Options for the generated OpenAPI 3.1 document (served at /openapi.json, rendered at /docs).
import type { SwaggerOptions } from '@fastify/swagger';
import type { RoutePermission } from '../auth/policies.ts';

export function openApiOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kith API',
        version: '0.1.0',
        description:
          'Open, self-hostable contacts and patient-relationship server implementing the Welkin Health API. ' +
          'Errors are JSON arrays of {errorCode, componentType, message, details, date}.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    // Shared schemas keep their $id as their component name (KithError, …).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  };
}

export function describePermission(permission: RoutePermission): string {
  if (permission === 'public') return 'No token needed.';
  if (permission === 'authenticated') return 'Needs a bearer token.';
  return `Needs a bearer token whose security policy grants \`${permission}\`.`;
}
