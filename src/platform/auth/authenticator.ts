// Turns an Authorization header into a Principal. Signatures are verified once per token (fast-jwt's cache);
// the client's state (enabled, secret version, instances, policy) comes from a per-node cache that lives at most
// KITH_CLIENT_CACHE_SECONDS, so a disable or rotation made on any node reaches every node within that time.
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/database.ts';
import { fromJson, toBool } from '../../db/values.ts';
import type { Clock } from '../clock.ts';
import { KithError } from '../errors.ts';
import { findClientState } from './clients.repository.ts';
import { BUILT_IN_POLICIES, compileGrants, type Grant, type Permission } from './policies.ts';
import type { TokenCodec } from './tokens.ts';

export interface GrantedInstance {
  id: string;
  phoneRegion: string;
}

export interface Principal {
  clientId: string;
  clientKey: string;
  clientName: string;
  tenantId: string;
  tenantName: string;
  policy: string;
  permissions: ReadonlySet<Permission>;
  /** Granted instances by name, in the order they were granted (the first is the default). */
  instances: ReadonlyMap<string, GrantedInstance>;
  /** The company ids the client's policy limits it to; undefined when it may see every company. */
  companies: ReadonlySet<string> | undefined;
  tokenExpiresAt: Date;
}

interface ClientState {
  enabled: boolean;
  secretVersion: number;
  principal: Omit<Principal, 'tokenExpiresAt'>;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

export class Authenticator {
  private readonly clients: LRUCache<string, ClientState | false>;

  constructor(
    private readonly deps: {
      database: Database;
      tokens: TokenCodec;
      clock: Clock;
      clientCacheSeconds: number;
    },
  ) {
    this.clients = new LRUCache<string, ClientState | false>({
      max: 10_000,
      // 0 disables caching: lru-cache reads ttl 0 as "forever", so use 1 ms instead.
      ttl: Math.max(1, deps.clientCacheSeconds * 1000),
      // Concurrent requests of one client share a single lookup.
      fetchMethod: async (clientId) => (await this.loadClient(clientId)) ?? false,
    });
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    const claims = match ? this.deps.tokens.verify(match[1]!) : undefined;
    if (!claims) throw invalidToken(authorization !== undefined);
    if (claims.exp * 1000 <= this.deps.clock.now().getTime()) {
      throw new KithError('TOKEN_EXPIRED', {
        headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="token expired"' },
      });
    }
    // A cache hit answers synchronously; only a miss (or an expired entry) waits for the database.
    let state = this.clients.get(claims.sub) ?? (await this.clients.fetch(claims.sub));
    // A token newer than this node's copy of its client: the secret was rotated on another node (or by the CLI)
    // and this copy is stale. Only a token this server signed can say so, so the reload cannot be forced at will.
    if (state && claims.sv > state.secretVersion) {
      state = await this.clients.fetch(claims.sub, { forceRefresh: true });
    }
    if (!state || !state.enabled || state.secretVersion !== claims.sv) throw invalidToken(true);
    const p = state.principal;
    // Spelled out: spreading the cached principal costs more than the rest of a cached authentication.
    return {
      clientId: p.clientId,
      clientKey: p.clientKey,
      clientName: p.clientName,
      tenantId: p.tenantId,
      tenantName: p.tenantName,
      policy: p.policy,
      permissions: p.permissions,
      instances: p.instances,
      companies: p.companies,
      tokenExpiresAt: new Date(claims.exp * 1000),
    };
  }

  /** Drops this node's copy of a client (other nodes refresh within the cache lifetime). */
  forgetClient(clientId: string): void {
    this.clients.delete(clientId);
  }

  private async loadClient(clientId: string): Promise<ClientState | undefined> {
    const found = await findClientState(this.deps.database.db, clientId);
    if (!found) return undefined;
    const { client, instances, policy } = found;
    const grants: Grant[] = policy
      ? fromJson<Grant[]>(policy.grants)
      : (BUILT_IN_POLICIES[client.policy]?.grants ?? []);
    return {
      enabled: toBool(client.enabled),
      secretVersion: client.secret_version,
      principal: {
        clientId: client.id,
        clientKey: client.key,
        clientName: client.name,
        tenantId: client.tenant_id,
        tenantName: client.tenant_name,
        policy: client.policy,
        permissions: compileGrants(grants),
        instances: new Map(instances.map((i) => [i.name, { id: i.id, phoneRegion: i.phone_region }])),
        companies: policy?.companies ? new Set(fromJson<string[]>(policy.companies)) : undefined,
      },
    };
  }
}

/** RFC 6750: a request without credentials gets a bare challenge, one with bad credentials an error code. */
function invalidToken(credentialsSent: boolean): KithError {
  return new KithError('NOT_VALID_JSON_WEB_TOKEN', {
    headers: { 'www-authenticate': credentialsSent ? 'Bearer error="invalid_token"' : 'Bearer' },
  });
}
