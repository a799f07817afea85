// Tenants (organisations) and their instances (isolated data spaces such as `live` and `sandbox`).
import { randomUUID } from 'node:crypto';
import { isSupportedCountry } from 'libphonenumber-js';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/database.ts';
import { toBool, toIso } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import { KithError } from '../../platform/errors.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { AuditService } from '../audit/audit.service.ts';
import * as repo from './tenants.repository.ts';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

// First path segments Kith itself uses (or reserves for the compatibility faces): no tenant may take them, or
// its routes would be shadowed.
const RESERVED_TENANT_NAMES = new Set([
  'admin',
  'api',
  'auth',
  'contacts',
  'docs',
  'events',
  'health',
  'kith',
  'openapi',
  'openapi.json',
  'ready',
  'static',
  'v1',
]);
// `admin` is the tenant-scoped admin prefix (/{tenant}/admin/…).
const RESERVED_INSTANCE_NAMES = new Set(['admin']);

/**
 * How long a node trusts what it last read about an instance's public intake. Public requests would otherwise
 * each cost a lookup; a change made elsewhere (the CLI, another node) takes effect within this time.
 */
export const INTAKE_CACHE_MS = 5_000;

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface Instance {
  id: string;
  tenantId: string;
  name: string;
  createdAt: string;
  phoneRegion: string;
}

function toInstance(row: {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Date | string;
  phone_region: string;
}): Instance {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    createdAt: toIso(row.created_at),
    phoneRegion: row.phone_region,
  };
}

function checkName(kind: 'tenant' | 'instance', name: string, reserved: Set<string>): void {
  if (!NAME_PATTERN.test(name)) {
    throw new KithError('VALIDATION_ERROR', {
      message: `A ${kind} name must match ${NAME_PATTERN.source}`,
      details: { fields: [{ field: 'name', message: `must match ${NAME_PATTERN.source}` }] },
    });
  }
  if (reserved.has(name)) {
    throw new KithError('VALIDATION_ERROR', {
      message: `"${name}" is reserved and cannot name a ${kind}`,
      details: { fields: [{ field: 'name', message: 'is reserved' }] },
    });
  }
}

export function tenantNotFound(name: string): KithError {
  return new KithError('NOT_FOUND', { message: `Tenant "${name}" does not exist`, details: { name } });
}

export class TenantsService {
  /** `tenant/instance` → the scope when intake is on (undefined otherwise) and until when that holds. */
  private readonly intake = new LRUCache<string, { scope: InstanceScope | undefined; until: number }>({
    max: 10_000,
  });

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    /** Records each administrator's change in the audit log, inside the transaction that makes it. */
    private readonly audit: Pick<AuditService, 'recordAdmin'>,
  ) {}

  async createTenant(name: string): Promise<Tenant> {
    checkName('tenant', name, RESERVED_TENANT_NAMES);
    const tenant = { id: randomUUID(), name, created_at: this.clock.now().toISOString() };
    try {
      await this.database.db.transaction().execute(async (tx) => {
        await repo.insertTenant(tx, tenant);
        await this.audit.recordAdmin(tx, {
          tenantId: tenant.id,
          action: 'created',
          resource: 'tenant',
          id: name,
          command: 'kith admin tenant create',
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new KithError('CONFLICT', { message: `Tenant "${name}" already exists`, details: { name } });
      }
      throw error;
    }
    return { id: tenant.id, name, createdAt: tenant.created_at };
  }

  async getTenant(name: string): Promise<Tenant> {
    const row = await repo.findTenantByName(this.database.db, name);
    if (!row) throw tenantNotFound(name);
    return { id: row.id, name: row.name, createdAt: toIso(row.created_at) };
  }

  async countTenants(): Promise<number> {
    return Number((await repo.countTenants(this.database.db)).n);
  }

  async createInstance(
    tenantName: string,
    name: string,
    options: { phoneRegion?: string } = {},
  ): Promise<Instance> {
    checkName('instance', name, RESERVED_INSTANCE_NAMES);
    const phoneRegion = options.phoneRegion ?? 'US';
    if (!isSupportedCountry(phoneRegion)) {
      throw new KithError('VALIDATION_ERROR', {
        message: `Unknown phone region "${phoneRegion}" (use an ISO 3166 code such as US, GB, IN)`,
        details: { fields: [{ field: 'phoneRegion', message: 'is not a known region' }] },
      });
    }
    const tenant = await this.getTenant(tenantName);
    const row = {
      id: randomUUID(),
      tenant_id: tenant.id,
      name,
      created_at: this.clock.now().toISOString(),
      phone_region: phoneRegion,
    };
    try {
      await this.database.db.transaction().execute(async (tx) => {
        await repo.insertInstance(tx, row);
        await this.audit.recordAdmin(tx, {
          tenantId: tenant.id,
          instanceId: row.id,
          instance: name,
          action: 'created',
          resource: 'instance',
          id: name,
          command: 'kith admin instance create',
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new KithError('CONFLICT', {
          message: `Instance "${name}" already exists in tenant "${tenantName}"`,
          details: { tenant: tenantName, name },
        });
      }
      throw error;
    }
    return { id: row.id, tenantId: tenant.id, name, createdAt: row.created_at, phoneRegion };
  }

  async getInstance(scope: InstanceScope): Promise<Instance> {
    const row = await repo.findInstance(this.database.db, scope);
    if (!row) throw new KithError('NOT_FOUND', { message: `Instance "${scope.instance}" does not exist` });
    return toInstance(row);
  }

  async listInstances(tenantId: string): Promise<Instance[]> {
    const rows = await repo.listInstances(this.database.db, tenantId);
    return rows.map(toInstance);
  }

  /** Opens or closes an instance's public contact intake (what seed 003 marks public). Closed at first. */
  async setPublicIntake(tenantName: string, instanceName: string, on: boolean): Promise<void> {
    const tenant = await this.getTenant(tenantName);
    await this.database.db.transaction().execute(async (tx) => {
      if (!(await repo.setPublicIntake(tx, tenant.id, instanceName, this.database.bool(on)))) {
        throw new KithError('NOT_FOUND', {
          message: `Instance "${instanceName}" does not exist in tenant "${tenantName}"`,
          details: { tenant: tenantName, name: instanceName },
        });
      }
      await this.audit.recordAdmin(tx, {
        tenantId: tenant.id,
        instance: instanceName,
        action: 'updated',
        resource: 'instance',
        id: instanceName,
        command: `kith admin instance intake ${on ? 'on' : 'off'}`,
      });
    });
    this.intake.delete(`${tenantName}/${instanceName}`);
  }

  /**
   * The scope of an instance whose public intake is open, or undefined (closed, or no such instance). Answers
   * from this node's copy for INTAKE_CACHE_MS, timed by the injected clock.
   */
  async publicIntakeScope(tenantName: string, instanceName: string): Promise<InstanceScope | undefined> {
    const key = `${tenantName}/${instanceName}`;
    const now = this.clock.now().getTime();
    const cached = this.intake.get(key);
    if (cached && cached.until > now) return cached.scope;
    const row = await repo.findInstanceByNames(this.database.db, tenantName, instanceName);
    const scope: InstanceScope | undefined =
      row && toBool(row.public_intake)
        ? {
            tenantId: row.tenant_id,
            tenant: row.tenant_name,
            instanceId: row.id,
            instance: row.name,
            phoneRegion: row.phone_region,
          }
        : undefined;
    this.intake.set(key, { scope, until: now + INTAKE_CACHE_MS });
    return scope;
  }
}
