// `kith admin audit verify`: checks the audit log's hash chains. A broken chain is a finding, not a failure of the
// command: the report goes to stdout as usual and the exit code is 1, so scripts and monitors can act on it.
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { verifyChains, type ChainReport } from '../modules/audit/audit.verify.ts';
import { findTenantByName } from '../modules/tenants/tenants.repository.ts';
import { tenantNotFound } from '../modules/tenants/tenants.service.ts';

function describe(report: ChainReport): string {
  const name = report.tenant ?? (report.chain === 'system' ? '(system)' : `(chain ${report.chain})`);
  if (!report.ok) return `${name}: BROKEN at ${report.problem!.message} [${report.problem!.kind}]`;
  return `${name}: OK, ${report.rows} rows, head ${report.head.seq} ${report.head.hash}`;
}

export function registerAuditCommands(admin: Command, loadConfig: () => Config): void {
  const audit = admin.command('audit').description('The audit log');
  audit
    .command('verify')
    .option('--tenant <name>', "check only this tenant's chain")
    .option('--json', 'print only machine-readable JSON')
    .description('Check the audit hash chains; exits with 1 if a row was changed, inserted or deleted')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const database = openDatabase(loadConfig());
      let reports: ChainReport[];
      try {
        await migrate(database);
        const tenantId = opts.tenant === undefined ? undefined : await tenantIdOf(database, opts.tenant);
        reports = await verifyChains(database.db, { tenantId });
      } finally {
        await database.close();
      }
      const broken = reports.filter((r) => !r.ok);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ ok: broken.length === 0, chains: reports }, null, 2)}\n`
          : `${reports.map(describe).join('\n') || '(no audit rows yet)'}\n`,
      );
      if (broken.length > 0) process.exitCode = 1;
    });
}

async function tenantIdOf(database: Database, name: string): Promise<string> {
  const tenant = await findTenantByName(database.db, name);
  if (!tenant) throw tenantNotFound(name);
  return tenant.id;
}
