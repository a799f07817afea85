// `kith admin …`: operator commands on the same database settings as `serve`; safe while a server runs (SQLite
// waits on its busy timeout, PostgreSQL is shared). With --json they print machine-readable JSON only.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { parsePolicy, isBuiltInPolicy, type Policy } from '../platform/auth/policies.ts';
import { createRateLimits } from '../platform/rate-limit.ts';
import { createServices, type Services } from '../services.ts';
import { registerAuditCommands } from './audit.ts';

type Print = (human: string, json: unknown) => void;

async function withServices<T>(config: Config, work: (services: Services) => Promise<T>): Promise<T> {
  const database = openDatabase(config);
  // The CLI never issues tokens, so it needs no shared limiter (and must not hold a Redis connection open).
  const rateLimits = createRateLimits(undefined);
  try {
    await migrate(database);
    return await work(await createServices({ config, database, rateLimits }));
  } finally {
    await rateLimits.close();
    await database.close();
  }
}

function printer(json: boolean | undefined): Print {
  return (human, value) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

/**
 * `--policy` takes a built-in name, a custom policy's name, or a JSON file that defines (or updates) one; the
 * definition is stored together with the client, only once every other check has passed.
 */
function readPolicy(policy: string): string | Policy {
  if (isBuiltInPolicy(policy) || !/\.json$/i.test(policy)) return policy;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(policy, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read policy file ${policy}: ${(error as Error).message}`);
  }
  return parsePolicy(parsed);
}

export function registerAdminCommands(program: Command, loadConfig: () => Config): void {
  const admin = program.command('admin').description('Manage tenants, instances and API clients');
  const json = ['--json', 'print only machine-readable JSON'] as const;
  registerAuditCommands(admin, loadConfig);

  const tenant = admin.command('tenant').description('Tenants (organisations)');
  tenant
    .command('create <name>')
    .option(...json)
    .description('Create a tenant')
    .action(async (name: string, opts: { json?: boolean }) => {
      const created = await withServices(loadConfig(), (s) => s.tenants.createTenant(name));
      printer(opts.json)(`Created tenant ${created.name}`, {
        name: created.name,
        createdAt: created.createdAt,
      });
    });

  const instance = admin.command('instance').description('Instances (isolated data spaces of a tenant)');
  instance
    .command('create <tenant> <name>')
    .option(
      '--phone-region <code>',
      'region for phone numbers written without a country code (ISO 3166)',
      'US',
    )
    .option(...json)
    .description('Create an instance in a tenant')
    .action(async (tenantName: string, name: string, opts: { json?: boolean; phoneRegion: string }) => {
      const created = await withServices(loadConfig(), (s) =>
        s.tenants.createInstance(tenantName, name, { phoneRegion: opts.phoneRegion.toUpperCase() }),
      );
      printer(opts.json)(
        `Created instance ${tenantName}/${created.name} (phone region ${created.phoneRegion})`,
        {
          tenant: tenantName,
          name: created.name,
          phoneRegion: created.phoneRegion,
          createdAt: created.createdAt,
        },
      );
    });

  instance
    .command('intake <tenant> <instance> <state>')
    .option(...json)
    .description(
      'Open (on) or close (off) public contact intake: the routes seed 003 marks public answer without a token',
    )
    .action(async (tenantName: string, name: string, state: string, opts: { json?: boolean }) => {
      if (state !== 'on' && state !== 'off') throw new Error(`State must be on or off (got "${state}")`);
      const on = state === 'on';
      await withServices(loadConfig(), (s) => s.tenants.setPublicIntake(tenantName, name, on));
      printer(opts.json)(`Public contact intake of ${tenantName}/${name}: ${state}`, {
        tenant: tenantName,
        instance: name,
        publicIntake: on,
      });
    });

  const client = admin.command('client').description('API clients');
  client
    .command('create <tenant>')
    .requiredOption(
      '--instances <names>',
      'comma-separated instances the client may use (the first is its default)',
    )
    .option(
      '--policy <policy>',
      'full-access, read-only, a custom policy name, or a policy JSON file',
      'full-access',
    )
    .option('--name <name>', 'display name')
    .option(...json)
    .description('Create an API client; prints its secret once')
    .action(
      async (
        tenantName: string,
        opts: { instances: string; policy: string; name?: string; json?: boolean },
      ) => {
        const created = await withServices(loadConfig(), async (s) =>
          s.clients.create({
            tenant: tenantName,
            name: opts.name,
            instances: opts.instances
              .split(',')
              .map((i) => i.trim())
              .filter(Boolean),
            policy: readPolicy(opts.policy),
          }),
        );
        printer(opts.json)(
          [
            `Created API client ${created.apiClient} in ${created.tenant}`,
            `  instances: ${created.instances.join(', ')}`,
            `  policy:    ${created.policy}`,
            `  secret:    ${created.secret}   (shown only now)`,
          ].join('\n'),
          {
            apiClient: created.apiClient,
            secret: created.secret,
            tenant: created.tenant,
            instances: created.instances,
          },
        );
      },
    );

  client
    .command('list <tenant>')
    .option(...json)
    .description("List a tenant's API clients")
    .action(async (tenantName: string, opts: { json?: boolean }) => {
      const clients = await withServices(loadConfig(), (s) => s.clients.list(tenantName));
      const lines = clients.map(
        (c) =>
          `${c.apiClient}  ${c.enabled ? 'enabled ' : 'disabled'}  ${c.policy}  [${c.instances.join(', ')}]  ${c.name}`,
      );
      printer(opts.json)(lines.join('\n') || '(no API clients)', clients);
    });

  for (const [command, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    client
      .command(`${command} <tenant> <apiClient>`)
      .option(...json)
      .description(
        `${command === 'disable' ? 'Disable' : 'Re-enable'} an API client (its tokens follow within seconds)`,
      )
      .action(async (tenantName: string, key: string, opts: { json?: boolean }) => {
        await withServices(loadConfig(), (s) => s.clients.setEnabled(tenantName, key, enabled));
        printer(opts.json)(`${enabled ? 'Enabled' : 'Disabled'} ${key}`, { apiClient: key, enabled });
      });
  }

  client
    .command('set-default-instance <tenant> <apiClient> <instance>')
    .option(...json)
    .description("Choose the granted instance the faces' bare paths (/contacts, /api/v1/contacts) work in")
    .action(async (tenantName: string, key: string, instance: string, opts: { json?: boolean }) => {
      await withServices(loadConfig(), (s) => s.clients.setDefaultInstance(tenantName, key, instance));
      printer(opts.json)(`Default instance of ${key}: ${instance}`, {
        apiClient: key,
        defaultInstance: instance,
      });
    });

  client
    .command('rotate-secret <tenant> <apiClient>')
    .option(...json)
    .description('Issue a new secret; tokens issued under the old one stop working')
    .action(async (tenantName: string, key: string, opts: { json?: boolean }) => {
      const secret = await withServices(loadConfig(), (s) => s.clients.rotateSecret(tenantName, key));
      printer(opts.json)(`New secret for ${key}: ${secret}   (shown only now)`, { apiClient: key, secret });
    });
}
