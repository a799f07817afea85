// API clients: creation (the secret is shown once), listing, enable/disable, secret rotation, custom policies,
// and the token exchange with its issuance limits.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { toBool, toIso, toJson } from '../../db/values.ts';
import type { TenantsService } from '../../modules/tenants/tenants.service.ts';
import type { AuditService } from '../../modules/audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import { KithError } from '../errors.ts';
import type { RateLimits, LimitRule } from '../rate-limit.ts';
import * as repo from './clients.repository.ts';
import { isBuiltInPolicy, type Policy } from './policies.ts';
import { generateClientKey, generateSecret, hashSecret, secretMatches } from './secrets.ts';
import type { TokenCodec } from './tokens.ts';

export interface ApiClientSummary {
  apiClient: string;
  name: string;
  tenant: string;
  instances: string[];
  policy: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedClient extends ApiClientSummary {
  /** Shown once; only its hash is stored. */
  secret: string;
}

export interface TokenRequest {
  apiClient: string;
  secret: string;
  /** Set by the tenant-scoped token route: the key must belong to this tenant. */
  tenant?: string;
  remoteAddress: string;
}

export interface IssuedToken {
  token: string;
  expiresAt: string;
}

const MAX_INSTANCES_PER_CLIENT = 100;

export class ClientsService {
  private readonly perClient: LimitRule;
  private readonly perAddress: LimitRule;

  constructor(
    private readonly deps: {
      database: Database;
      clock: Clock;
      config: Pick<
        Config,
        | 'tokenRequestsPerClient'
        | 'tokenRequestWindowSeconds'
        | 'tokenBlockSeconds'
        | 'tokenFailuresPerAddress'
      >;
      tenants: TenantsService;
      tokens: TokenCodec;
      rateLimits: RateLimits;
      /** Records each change in the audit log, inside the transaction that makes it. */
      audit: Pick<AuditService, 'recordAdmin'>;
      /** Called after a client changes, so this node's cached copy is dropped at once. */
      onClientChanged: (clientId: string) => void;
    },
  ) {
    const { tokenRequestWindowSeconds: windowSeconds, tokenBlockSeconds: blockSeconds } = deps.config;
    this.perClient = {
      name: 'token-client',
      points: deps.config.tokenRequestsPerClient,
      windowSeconds,
      blockSeconds,
    };
    this.perAddress = {
      name: 'token-address-failures',
      points: deps.config.tokenFailuresPerAddress,
      windowSeconds,
      blockSeconds,
    };
  }

  /**
   * Creates a client. `policy` names a built-in or stored policy, or defines a custom one, which is stored (or
   * replaced) in the same transaction as the client, after every check has passed.
   */
  async create(input: {
    tenant: string;
    name?: string;
    instances: string[];
    policy: string | Policy;
  }): Promise<CreatedClient> {
    const { database, clock } = this.deps;
    const tenant = await this.deps.tenants.getTenant(input.tenant);
    const instanceNames = [...new Set(input.instances)];
    if (instanceNames.length > MAX_INSTANCES_PER_CLIENT) {
      throw new KithError('VALIDATION_ERROR', {
        message: `A client may be granted at most ${MAX_INSTANCES_PER_CLIENT} instances`,
      });
    }
    const found = await repo.listClientInstancesByName(database.db, tenant.id, instanceNames);
    const missing = instanceNames.filter((n) => !found.some((f) => f.name === n));
    if (missing.length > 0) {
      throw new KithError('NOT_FOUND', {
        message: `Instance(s) not found in tenant "${tenant.name}": ${missing.join(', ')}`,
        details: { instances: missing },
      });
    }
    const definition = typeof input.policy === 'string' ? undefined : input.policy;
    const policyName = definition ? definition.name : (input.policy as string);
    if (definition) this.checkCustomPolicy(definition);
    else await this.requirePolicy(tenant.id, policyName);
    const secret = generateSecret();
    const at = clock.now().toISOString();
    const orderedIds = instanceNames.map((n) => found.find((f) => f.name === n)!.id);
    // A key collision (1 in ~10^16) is retried with a fresh key rather than surfaced.
    for (let attempt = 0; ; attempt++) {
      const key = generateClientKey();
      const row = {
        id: randomUUID(),
        tenant_id: tenant.id,
        key,
        name: input.name?.trim() || key,
        secret_hash: hashSecret(secret),
        policy: policyName,
        enabled: database.bool(true),
        created_at: at,
        updated_at: at,
      };
      try {
        await database.db.transaction().execute(async (trx) => {
          if (definition) {
            await this.storePolicy(trx, tenant.id, definition, at);
            await this.deps.audit.recordAdmin(trx, {
              tenantId: tenant.id,
              action: 'updated',
              resource: 'policy',
              id: definition.name,
              command: 'kith admin client create --policy',
            });
          }
          await repo.insertClient(trx, row, orderedIds);
          await this.deps.audit.recordAdmin(trx, {
            tenantId: tenant.id,
            action: 'created',
            resource: 'api_client',
            id: key,
            command: 'kith admin client create',
          });
        });
      } catch (error) {
        if (isUniqueViolation(error) && attempt < 3) continue;
        throw error;
      }
      return {
        apiClient: key,
        name: row.name,
        tenant: tenant.name,
        instances: instanceNames,
        policy: policyName,
        enabled: true,
        createdAt: at,
        updatedAt: at,
        secret,
      };
    }
  }

  async list(tenantName: string): Promise<ApiClientSummary[]> {
    const { db } = this.deps.database;
    const tenant = await this.deps.tenants.getTenant(tenantName);
    const clients = await repo.listClients(db, tenant.id);
    const instances =
      clients.length === 0
        ? []
        : await repo.listClientInstances(
            db,
            tenant.id,
            clients.map((c) => c.id),
          );
    return clients.map((c) => ({
      apiClient: c.key,
      name: c.name,
      tenant: tenant.name,
      instances: instances.filter((i) => i.client_id === c.id).map((i) => i.name),
      policy: c.policy,
      enabled: toBool(c.enabled),
      createdAt: toIso(c.created_at),
      updatedAt: toIso(c.updated_at),
    }));
  }

  async setEnabled(tenantName: string, key: string, enabled: boolean): Promise<void> {
    const { database, clock } = this.deps;
    const tenant = await this.deps.tenants.getTenant(tenantName);
    await database.db.transaction().execute(async (trx) => {
      const at = clock.now().toISOString();
      if (!(await repo.setClientEnabled(trx, tenant.id, key, database.bool(enabled), at)))
        throw clientNotFound(tenantName, key);
      await this.auditClient(trx, tenant.id, key, enabled ? 'enable' : 'disable');
    });
    await this.notifyChanged(tenant.id, key);
  }

  /** Issues a new secret; tokens issued under the old one stop working. Returns the new secret (shown once). */
  async rotateSecret(tenantName: string, key: string): Promise<string> {
    const { database, clock } = this.deps;
    const tenant = await this.deps.tenants.getTenant(tenantName);
    const secret = generateSecret();
    await database.db.transaction().execute(async (trx) => {
      const at = clock.now().toISOString();
      if (!(await repo.replaceClientSecret(trx, tenant.id, key, hashSecret(secret), at)))
        throw clientNotFound(tenantName, key);
      await this.auditClient(trx, tenant.id, key, 'rotate-secret');
    });
    await this.notifyChanged(tenant.id, key);
    return secret;
  }

  /**
   * Makes one of the client's granted instances its default: the instance the compatibility faces' bare paths
   * (`/contacts`, `/api/v1/contacts`) work in. Until set, the default is the first instance granted.
   */
  async setDefaultInstance(tenantName: string, key: string, instance: string): Promise<void> {
    const { database } = this.deps;
    const tenant = await this.deps.tenants.getTenant(tenantName);
    const client = await repo.findClientId(database.db, tenant.id, key);
    if (!client) throw clientNotFound(tenantName, key);
    await database.db.transaction().execute(async (trx) => {
      if (!(await repo.moveInstanceFirst(trx, tenant.id, client.id, instance))) {
        throw new KithError('NOT_FOUND', {
          message: `API client "${key}" is not granted instance "${instance}"`,
          details: { apiClient: key, instance },
        });
      }
      await this.auditClient(trx, tenant.id, key, 'set-default-instance');
    });
    this.deps.onClientChanged(client.id);
  }

  private auditClient(db: repo.Db, tenantId: string, key: string, command: string): Promise<void> {
    return this.deps.audit.recordAdmin(db, {
      tenantId,
      action: 'updated',
      resource: 'api_client',
      id: key,
      command: `kith admin client ${command}`,
    });
  }

  private checkCustomPolicy(policy: Policy): void {
    if (isBuiltInPolicy(policy.name)) {
      throw new KithError('CONFLICT', {
        message: `"${policy.name}" is a built-in policy and cannot be redefined`,
      });
    }
  }

  private async storePolicy(db: repo.Db, tenantId: string, policy: Policy, at: string): Promise<void> {
    await repo.upsertPolicy(db, tenantId, {
      id: randomUUID(),
      name: policy.name,
      grants: toJson(policy.grants),
      companies: policy.companies === undefined ? null : toJson(policy.companies),
      at,
    });
  }

  /**
   * The token exchange. Unknown keys, wrong secrets, disabled clients and keys of another tenant all get the same
   * 401 after the same work. Every request counts against the key's limit; an address that has failed
   * `tokenFailuresPerAddress` times in the window is refused until the window ends, whatever key it tries.
   */
  async issueToken(request: TokenRequest): Promise<IssuedToken> {
    const { rateLimits, database, tokens } = this.deps;
    const wait =
      (await rateLimits.hit(this.perClient, request.apiClient)) ??
      (await rateLimits.exhausted(this.perAddress, request.remoteAddress));
    if (wait !== undefined) {
      throw new KithError('TOKEN_RATE_LIMIT_EXCEEDED', {
        details: { retryAfterSeconds: wait },
        headers: { 'retry-after': String(wait) },
      });
    }
    const client = await repo.findClientByKey(database.db, request.apiClient);
    const valid =
      secretMatches(request.secret, client?.secret_hash) &&
      client !== undefined &&
      toBool(client.enabled) &&
      (request.tenant === undefined || request.tenant === client.tenant_name);
    if (!valid) {
      await rateLimits.hit(this.perAddress, request.remoteAddress);
      throw new KithError('NOT_VALID_CREDENTIALS', { headers: { 'www-authenticate': 'Bearer' } });
    }
    const issued = tokens.issue(client.id, client.secret_version);
    return { token: issued.token, expiresAt: issued.expiresAt.toISOString() };
  }

  private async requirePolicy(tenantId: string, name: string): Promise<void> {
    if (isBuiltInPolicy(name)) return;
    if (!(await repo.findPolicy(this.deps.database.db, tenantId, name))) {
      throw new KithError('NOT_FOUND', {
        message: `Security policy "${name}" does not exist (built in: full-access, read-only)`,
        details: { policy: name },
      });
    }
  }

  private async notifyChanged(tenantId: string, key: string): Promise<void> {
    const row = await repo.findClientId(this.deps.database.db, tenantId, key);
    if (row) this.deps.onClientChanged(row.id);
  }
}

function clientNotFound(tenant: string, key: string): KithError {
  return new KithError('NOT_FOUND', {
    message: `API client "${key}" not found in tenant "${tenant}"`,
    details: { apiClient: key },
  });
}
