import type { Database } from '../../db/database.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Writes } from '../../platform/writes.ts';

export interface CompaniesServiceDeps {
  database: Database;
  writes: Writes;
  clock: Clock;
}

export class CompaniesService {
  constructor(private readonly deps: CompaniesServiceDeps) {}
}
