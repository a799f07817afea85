import type { Database } from '../../db/database.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Writes } from '../../platform/writes.ts';

export interface ContactsServiceDeps {
  database: Database;
  writes: Writes;
  clock: Clock;
}

export class ContactsService {
  constructor(private readonly deps: ContactsServiceDeps) {}
}
