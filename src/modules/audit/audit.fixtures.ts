// Test helpers shared by the audit tests: a tenant with a client and its audit log, and a way to change history
// behind the log's back (as someone with database access would) to show the chain notices.
import { expect } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import type { Kith, RequestOptions, TestTenant } from '../../../test/harness.ts';
import type { AuditItem } from './audit.schemas.ts';

export type AuditPage = { data: AuditItem[]; metaInfo: Record<string, unknown> };

export const USER_AGENT = 'audit-test/1.0';

export async function workspace(kith: Kith, tenant?: TestTenant) {
  const t = tenant ?? (await kith.newTenant());
  const token = await t.token();
  const root = `/${t.name}/live`;
  const call = <T = { id: string }>(method: string, path: string, options: RequestOptions = {}) =>
    kith.request<T>(method, `${root}${path}`, {
      token,
      ...options,
      headers: { 'user-agent': USER_AGENT, ...options.headers },
    });
  /** The tenant's audit rows (buffered ones appended first), newest first, as the API answers them. */
  const audit = async (query = '', as = token) => {
    await kith.services.audit.flush();
    const res = await kith.request<AuditPage>('GET', `/${t.name}/admin/audit-data${query}`, { token: as });
    expect(res.status, res.text).toBe(200);
    return res.body;
  };
  /** Oldest first: the order things happened in. */
  const history = async (query: string) => (await audit(`${query}&size=100`)).data.reverse();
  const tenantId = async () => (await kith.services.tenants.getTenant(t.name)).id;
  return { tenant: t, token, root, call, audit, history, tenantId };
}

/**
 * Runs one statement on audit_log with its append-only triggers out of the way, as someone with database
 * access could: PostgreSQL skips triggers for a replication-role session, SQLite drops and recreates them.
 */
export async function tamper(kith: Kith, statement: RawBuilder<unknown>): Promise<void> {
  const { db, engine } = kith.database;
  await db.transaction().execute(async (tx) => {
    if (engine === 'postgres') {
      await sql`set local session_replication_role = replica`.execute(tx);
      await statement.execute(tx);
      return;
    }
    await sql`drop trigger audit_log_no_update`.execute(tx);
    await sql`drop trigger audit_log_no_delete`.execute(tx);
    await statement.execute(tx);
    for (const operation of ['update', 'delete']) {
      await sql`
        create trigger ${sql.raw(`audit_log_no_${operation}`)} before ${sql.raw(operation)} on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(tx);
    }
  });
}
