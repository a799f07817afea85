// The composition root: builds every service from the configuration and the database. Used by the server
// (app.ts), by the admin CLI and by the tests, so all three run the same code.
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { CompaniesService } from './modules/companies/companies.service.ts';
import { EventsService } from './modules/events/events.service.ts';
import { AuditService } from './modules/audit/audit.service.ts';
import { ContactsService } from './modules/contacts/contacts.service.ts';
import { PatientsService } from './modules/patients/patients.service.ts';
import { TenantsService } from './modules/tenants/tenants.service.ts';
import { createWebhooks, type WebhooksService } from './modules/webhooks/webhooks.service.ts';
import { Authenticator } from './platform/auth/authenticator.ts';
import { ClientsService } from './platform/auth/clients.service.ts';
import { createTokenCodec, loadSigningKey } from './platform/auth/tokens.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { createRateLimits, type RateLimits } from './platform/rate-limit.ts';
import { Writes } from './platform/writes.ts';

export interface ServiceDeps {
  config: Config;
  database: Database;
  clock?: Clock;
  rateLimits?: RateLimits;
}

export interface Services {
  config: Config;
  database: Database;
  clock: Clock;
  rateLimits: RateLimits;
  tenants: TenantsService;
  clients: ClientsService;
  writes: Writes;
  authenticator: Authenticator;
  patients: PatientsService;
  companies: CompaniesService;
  contacts: ContactsService;
  events: EventsService;
  webhooks: WebhooksService;
  audit: AuditService;
}

export async function createServices(deps: ServiceDeps): Promise<Services> {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const rateLimits = deps.rateLimits ?? createRateLimits(config.redisUrl);
  const tokens = createTokenCodec(
    await loadSigningKey(database, config.jwtSecret),
    config.tokenTtlSeconds,
    clock,
  );
  const authenticator = new Authenticator({
    database,
    tokens,
    clock,
    clientCacheSeconds: config.clientCacheSeconds,
  });
  const audit = new AuditService({ database, clock });
  const tenants = new TenantsService(database, clock, audit);
  const clients = new ClientsService({
    audit,
    database,
    clock,
    config,
    tenants,
    tokens,
    rateLimits,
    onClientChanged: (id) => authenticator.forgetClient(id),
  });
  const writes = new Writes(database, clock);
  const events = new EventsService({ database, clock, retentionDays: config.eventRetentionDays });
  writes.recordWith(events.record);
  writes.recordWith(audit.record);
  const webhooks = createWebhooks({ database, clock, config });
  // After commit only: the dispatcher reads committed events, so a rolled-back change is never delivered.
  writes.onCommit((ctx, changes) => {
    if (changes.length > 0) webhooks.dispatcher.notify(ctx.scope.instanceId);
  });
  const domain = { database, writes, clock };
  const companies = new CompaniesService(domain);
  return {
    config,
    database,
    clock,
    rateLimits,
    tenants,
    clients,
    authenticator,
    writes,
    patients: new PatientsService(domain),
    companies,
    contacts: new ContactsService({ ...domain, companies }),
    events,
    webhooks,
    audit,
  };
}
