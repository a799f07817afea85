// First start on an empty database: a `demo` tenant with `live` and `sandbox`, and a full-access client whose
// secret is printed once, so a newcomer can call the API straight away.
import type { CreatedClient } from './platform/auth/clients.service.ts';
import { KithError } from './platform/errors.ts';
import type { Services } from './services.ts';

export async function ensureDemo(services: Services): Promise<CreatedClient | undefined> {
  if ((await services.tenants.countTenants()) > 0) return undefined;
  try {
    await services.tenants.createTenant('demo');
  } catch (error) {
    // Another node starting at the same moment won the race; it prints the credentials.
    if (error instanceof KithError && error.code === 'CONFLICT') return undefined;
    throw error;
  }
  await services.tenants.createInstance('demo', 'live');
  await services.tenants.createInstance('demo', 'sandbox');
  return services.clients.create({
    tenant: 'demo',
    name: 'demo',
    instances: ['live', 'sandbox'],
    policy: 'full-access',
  });
}

export function demoInstructions(baseUrl: string, client: CreatedClient): string {
  const body = JSON.stringify({ apiClient: client.apiClient, secret: client.secret });
  return [
    '',
    'Kith created a demo tenant on this first start (set KITH_NO_DEMO=1 to skip).',
    `  Base URL:   ${baseUrl}`,
    `  Tenant:     ${client.tenant} (instances: ${client.instances.join(', ')})`,
    `  API client: ${client.apiClient}`,
    `  Secret:     ${client.secret}   (shown only now; rotate with: kith admin client rotate-secret demo ${client.apiClient})`,
    '',
    'Get a token:',
    `  curl -s -X POST ${baseUrl}/auth/token -H 'Content-Type: application/json' -d '${body}'`,
    'Then call the API with it:',
    `  curl -s ${baseUrl}/demo/live -H "Authorization: Bearer $TOKEN"`,
    '',
  ].join('\n');
}
