// Contacts: the one model behind the platform's directory, the patient contacts of seed 000 and (later) the
// compatibility faces. Every change goes through Writes.run, records its changes, and is applied with an
// optimistic version check, so concurrent writers never overwrite each other silently.
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { fromJson, toBool, toIso, toJson } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import type { CompaniesService } from '../companies/companies.service.ts';
import { invalidFields, KithError, type FieldProblem } from '../../platform/errors.ts';
import { checkIfMatch } from '../../platform/http/etag.ts';
import { metaInfoPage, offsetOf, type PageRequest } from '../../platform/http/pagination.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { WriteContext, WriteTx, Writes } from '../../platform/writes.ts';
import { applyInput, customFieldsProblem, EMPTY_STATE, type ContactState } from './contacts.apply.ts';
import { mergeCustomFields, sortKey } from './contacts.model.ts';
import * as repo from './contacts.repository.ts';
import type { Contact, ContactInput } from './contacts.schemas.ts';
import { searchTerms } from './contacts.search.ts';
import { COUNT_CAP, cursorAfter, listMeta, planPage, type Paging } from './contacts.listing.ts';

export interface ContactsServiceDeps {
  database: Database;
  writes: Writes;
  clock: Clock;
  /** Contacts point at companies; the companies service says which exist. */
  companies: CompaniesService;
}

/** Stored in contacts.doc: the state minus what has a column of its own, plus who created and last changed it. */
interface ContactDoc extends Omit<
  ContactState,
  'patientId' | 'companyId' | 'relationship' | 'isPrimary' | 'source' | 'externalId'
> {
  createdBy: string;
  updatedBy: string;
}

type Row = NonNullable<Awaited<ReturnType<typeof repo.findContact>>>;

export interface Preconditions {
  /** Versions from If-Match; undefined when absent. */
  ifMatch?: number[];
  /**
   * The contact must belong to this patient (the seed-000 paths), or with null to no patient; otherwise it is
   * not found.
   */
  patientId?: string | null;
  /** The contact must belong to one of these companies (a company-limited client); otherwise it is not found. */
  companies?: ReadonlySet<string>;
}

/** Thrown inside a transaction when a concurrent write moved the version on; the write is retried. */
class VersionMoved extends Error {}

const MAX_ATTEMPTS = 3;

/** The stored document and the columns, read back as the contact's state and its authors. */
function read(row: Row): { state: ContactState; createdBy: string; updatedBy: string } {
  const { createdBy, updatedBy, ...doc } = fromJson<ContactDoc>(row.doc);
  const state: ContactState = {
    ...EMPTY_STATE,
    ...doc,
    patientId: row.patient_id,
    companyId: row.company_id,
    relationship: row.relationship,
    isPrimary: toBool(row.is_primary),
    source: row.source,
    externalId: row.external_id,
  };
  return { state, createdBy, updatedBy };
}

export function stateOf(row: Row): ContactState {
  return read(row).state;
}

export function toContact(row: Row): Contact {
  const { state, createdBy, updatedBy } = read(row);
  const { displayNameExplicit: _explicit, ...fields } = state;
  return {
    id: row.id,
    ...fields,
    email: state.emails.find((e) => e.primary)?.address ?? null,
    phone: state.phones.find((p) => p.primary)?.e164 ?? null,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    createdBy,
    updatedBy,
    deletedAt: row.deleted_at === null ? null : toIso(row.deleted_at),
    version: row.version,
  };
}

function sortValue(row: Row, column: repo.ListOrder['column']): string {
  const value = row[column];
  return value instanceof Date ? value.toISOString() : value;
}

/** A contact seen through another patient's path, or outside the caller's companies, does not exist there. */
function owned<T extends { patient_id: string | null; company_id: string | null }>(
  row: T | undefined,
  pre: Preconditions,
): T | undefined {
  if (!row) return undefined;
  if (pre.patientId !== undefined && row.patient_id !== pre.patientId) return undefined;
  if (pre.companies && (row.company_id === null || !pre.companies.has(row.company_id))) return undefined;
  return row;
}

export function notFound(id: string): KithError {
  return new KithError('NOT_FOUND', { message: 'Contact not found', details: { id } });
}

export class ContactsService {
  /** Live contacts per instance, for choosing a plan (an estimate: a minute old at most, per node). */
  private readonly liveCounts = new LRUCache<string, number>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly deps: ContactsServiceDeps) {}

  private get db() {
    return this.deps.database.db;
  }

  async get(
    scope: InstanceScope,
    id: string,
    pre: Pick<Preconditions, 'patientId' | 'companies'> = {},
  ): Promise<Contact> {
    if (typeof pre.patientId === 'string') await this.requirePatient(scope, pre.patientId);
    const row = owned(await repo.findContact(scope, this.db, id), pre);
    if (!row) throw notFound(id);
    return toContact(row);
  }

  /** Seed 000's list: a live patient's live contacts, page/size, in the `{data, metaInfo}` shape. */
  async listForPatient(scope: InstanceScope, patientId: string, page: PageRequest) {
    await this.requirePatient(scope, patientId);
    const filter: repo.ListFilter = { patientId, trash: 'exclude' };
    const order: repo.ListOrder = { column: 'sort_name', direction: 'asc' };
    const [rows, total] = await Promise.all([
      repo.listContacts(scope, this.db, this.deps.database.engine, filter, order, {
        limit: page.size,
        offset: offsetOf(page),
      }),
      repo.countContacts(scope, this.db, this.deps.database.engine, filter, Number.MAX_SAFE_INTEGER - 1),
    ]);
    return metaInfoPage(rows.map(toContact), page, total);
  }

  /** Seed 000's create: the patient comes from the path and must exist (404 otherwise). */
  async createForPatient(ctx: WriteContext, patientId: string, input: ContactInput): Promise<Contact> {
    await this.requirePatient(ctx.scope, patientId);
    return this.create(ctx, { ...input, patientId });
  }

  private async requirePatient(scope: InstanceScope, patientId: string): Promise<void> {
    if (!(await repo.findLivePatientId(scope, this.db, patientId))) {
      throw new KithError('NOT_FOUND', { message: 'Patient not found', details: { id: patientId } });
    }
  }

  /**
   * A page of contacts with its metadata (the total: see `total`).
   */
  async list(scope: InstanceScope, filter: repo.ListFilter, paging: Paging) {
    const { engine } = this.deps.database;
    const plan = planPage(paging, filter);
    const [rows, total] = await Promise.all([
      this.tagForm(scope, filter, plan.offset + plan.limit + 1).then((tagForm) =>
        repo.listContacts(
          scope,
          this.db,
          engine,
          filter,
          plan.order,
          { limit: plan.limit + 1, offset: plan.offset },
          tagForm,
        ),
      ),
      this.total(scope, filter),
    ]);
    const page = rows.slice(0, plan.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > plan.limit && last
        ? cursorAfter(plan, { value: sortValue(last, plan.order.column), id: last.id })
        : null;
    return { data: page.map(toContact), metaInfo: listMeta(plan, page.length, total, nextCursor) };
  }

  /**
   * The list's total: exact up to COUNT_CAP, else an estimate (flagged). SQLite counts up to the cap and says
   * "more". PostgreSQL asks its planner first (a fraction of a millisecond): past twice the cap the estimate is
   * the answer, since counting even to the cap by joins it plans for the whole set took 20-35 ms for common tags.
   */
  private async total(scope: InstanceScope, filter: repo.ListFilter) {
    const { engine } = this.deps.database;
    const estimate = () => repo.estimateContacts(scope, this.db, engine, filter);
    const planned = engine === 'postgres' ? await estimate() : undefined;
    if (planned !== undefined && planned > 2 * COUNT_CAP) return { value: planned, estimate: true };
    const counted = await repo.countContacts(scope, this.db, engine, filter, COUNT_CAP);
    if (counted <= COUNT_CAP) return { value: counted, estimate: false };
    return { value: Math.max(COUNT_CAP + 1, planned ?? 0), estimate: true };
  }

  /**
   * SQLite keeps the join form it is given, so for a page filtered by tags alone the service chooses: walking the
   * sort index and checking tags costs about `rows × live / tagged` lookups, reading the rarest tag's contacts
   * and sorting them costs about `tagged` lookups, each ~1.5× dearer (measured on the 100k-contact benchmark
   * dataset, 3.2 and 4.9 µs: 1.5 ms instead of 78 for the commonest tag, 2 ms instead of 13 for the rarest).
   * PostgreSQL's planner weighs this itself from its statistics.
   */
  private async tagForm(scope: InstanceScope, filter: repo.ListFilter, rows: number): Promise<repo.TagForm> {
    const tags = filter.tags ?? [];
    const walkable = filter.trash === 'exclude' && !repo.hasTextMatch(filter);
    if (this.deps.database.engine !== 'sqlite' || tags.length === 0 || !walkable) return 'in';
    let live = this.liveCounts.get(scope.instanceId);
    if (live === undefined) {
      live = await repo.countLive(scope, this.db);
      this.liveCounts.set(scope.instanceId, live);
    }
    // `exists` wins once tagged² ≥ 0.65 × rows × live; counting further than that is not needed.
    const threshold = Math.ceil(Math.sqrt(0.65 * rows * live));
    for (const tag of tags) {
      if ((await repo.countTagged(scope, this.db, tag, threshold)) < threshold) return 'in';
    }
    return 'exists';
  }

  /** A company's live contacts; the company itself must be live in the scope. */
  async listForCompany(scope: InstanceScope, companyId: string, paging: Paging) {
    await this.deps.companies.requireLive(scope, companyId);
    return this.list(scope, { companyId, trash: 'exclude' }, paging);
  }

  async create(ctx: WriteContext, input: ContactInput): Promise<Contact> {
    const { state, problems } = applyInput(EMPTY_STATE, input, ctx.scope.phoneRegion);
    if (problems.length > 0) throw invalidFields(problems);
    const id = randomUUID();
    return this.write(ctx, async (tx) => {
      const resolved = await this.resolveReferences(tx, state);
      await this.clearOtherPrimaries(tx, id, resolved);
      const row = await repo.insertContact(
        ctx.scope,
        tx.db,
        this.deps.database.engine,
        {
          ...rowValues(
            resolved,
            { createdBy: ctx.actor.id, updatedBy: ctx.actor.id },
            this.deps.database.bool,
          ),
          id,
          now: tx.now,
        },
        resolved.tags,
        searchTerms(resolved),
      );
      return this.recordRow(tx, row, 'created');
    });
  }

  async update(
    ctx: WriteContext,
    id: string,
    input: ContactInput,
    pre: Preconditions = {},
  ): Promise<Contact> {
    return this.change(ctx, id, pre, (current) => applyInput(current, input, ctx.scope.phoneRegion));
  }

  /** PATCH …/custom: shallow merge into customFields; a null value removes its key. */
  async mergeCustomFields(
    ctx: WriteContext,
    id: string,
    patch: Record<string, unknown>,
    pre: Preconditions = {},
  ): Promise<Contact> {
    return this.change(ctx, id, pre, (current) => {
      const customFields = mergeCustomFields(current.customFields, patch);
      return { state: { ...current, customFields }, problems: customFieldsProblem(customFields) };
    });
  }

  /** Soft delete (to the trash), or permanent removal when `permanent`. */
  async remove(
    ctx: WriteContext,
    id: string,
    options: Preconditions & { permanent?: boolean },
  ): Promise<void> {
    await this.write(ctx, async (tx) => {
      const row = owned(
        await repo.findContact(ctx.scope, tx.db, id, { includeDeleted: options.permanent }),
        options,
      );
      if (!row) throw notFound(id);
      checkIfMatch(options.ifMatch, row.version);
      if (options.permanent) {
        if (!(await repo.purgeContact(ctx.scope, tx.db, this.deps.database.engine, id, row.version))) {
          throw new VersionMoved();
        }
        tx.record({ resource: 'contact', id, action: 'purged', after: null });
        return;
      }
      if (!(await repo.setDeleted(ctx.scope, tx.db, id, row.version, tx.now, tx.now)))
        throw new VersionMoved();
      await this.recordCurrent(tx, id, 'deleted');
    });
  }

  /** Takes a contact out of the trash. Restoring a live contact changes nothing. */
  async restore(ctx: WriteContext, id: string, pre: Preconditions = {}): Promise<Contact> {
    return this.write(ctx, async (tx) => {
      const row = await repo.findContact(ctx.scope, tx.db, id, { includeDeleted: true });
      if (!row) throw notFound(id);
      checkIfMatch(pre.ifMatch, row.version);
      if (row.deleted_at === null) return toContact(row);
      const state = stateOf(row);
      if (state.patientId && !(await repo.findLivePatientId(ctx.scope, tx.db, state.patientId))) {
        throw new KithError('CONFLICT', {
          message: 'The contact belongs to a deleted patient and cannot be restored on its own',
          details: { patientId: state.patientId },
        });
      }
      // A primary flag may have passed to another contact while this one was in the trash.
      if (state.isPrimary) await this.clearOtherPrimaries(tx, id, state);
      if (!(await repo.setDeleted(ctx.scope, tx.db, id, row.version, null, tx.now))) throw new VersionMoved();
      return this.recordCurrent(tx, id, 'restored');
    });
  }

  /** Reads, applies and writes back one contact, retrying when a concurrent write moved its version on. */
  private async change(
    ctx: WriteContext,
    id: string,
    pre: Preconditions,
    apply: (current: ContactState) => { state: ContactState; problems: FieldProblem[] },
  ): Promise<Contact> {
    return this.write(ctx, async (tx) => {
      const row = owned(await repo.findContact(ctx.scope, tx.db, id), pre);
      if (!row) throw notFound(id);
      checkIfMatch(pre.ifMatch, row.version);
      const { state, problems } = apply(stateOf(row));
      if (problems.length > 0) throw invalidFields(problems);
      const resolved = await this.resolveReferences(tx, state);
      await this.clearOtherPrimaries(tx, id, resolved);
      const previous = read(row);
      const authors = { createdBy: previous.createdBy, updatedBy: ctx.actor.id };
      const { bool } = this.deps.database;
      const updated = await repo.updateContact(
        ctx.scope,
        tx.db,
        this.deps.database.engine,
        id,
        row.version,
        tx.now,
        { values: rowValues(resolved, authors, bool), tags: resolved.tags, terms: searchTerms(resolved) },
        // The stored columns as they are; the stored terms as this version computes them (a change to how
        // terms are made must come with a reindex, as for any search index).
        { values: storedValues(row), tags: previous.state.tags, terms: searchTerms(previous.state) },
      );
      if (!updated) throw new VersionMoved();
      return this.recordRow(tx, updated, 'updated');
    });
  }

  /**
   * One transaction through Writes.run. A version that moved under us is retried (without If-Match) or answered
   * 412 (with it: the client's view is stale); a taken externalId is a 409.
   */
  private async write<T>(ctx: WriteContext, work: (tx: WriteTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.writes.run(ctx, work);
      } catch (error) {
        if (error instanceof VersionMoved && attempt < MAX_ATTEMPTS) continue;
        if (error instanceof VersionMoved) throw new KithError('PRECONDITION_FAILED');
        if (isUniqueViolation(error)) {
          throw new KithError('CONFLICT', {
            message:
              'Another contact in this instance already has this externalId, or became primary meanwhile',
            details: { fields: [{ field: 'externalId', message: 'is already taken' }] },
          });
        }
        throw error;
      }
    }
  }

  /** The patient and company a contact points at must be live here; a company fills in the company name. */
  private async resolveReferences(tx: WriteTx, state: ContactState): Promise<ContactState> {
    const problems: FieldProblem[] = [];
    if (state.patientId && !(await repo.findLivePatientId(tx.ctx.scope, tx.db, state.patientId))) {
      problems.push({ field: 'patientId', message: 'no such patient in this instance' });
    }
    let company = state.company;
    if (state.companyId) {
      const found = (await this.deps.companies.findLiveByIds(tx.ctx.scope, [state.companyId], tx.db)).get(
        state.companyId,
      );
      if (!found) problems.push({ field: 'companyId', message: 'no such company in this instance' });
      company ??= found?.name ?? null;
    }
    if (problems.length > 0) throw invalidFields(problems);
    return { ...state, company, displayName: state.displayName || company || '' };
  }

  /** At most one primary contact per patient and per company: making one primary clears the others first. */
  private async clearOtherPrimaries(tx: WriteTx, id: string, state: ContactState): Promise<void> {
    if (!state.isPrimary) return;
    const owners = [
      state.patientId ? { column: 'patient_id' as const, id: state.patientId } : undefined,
      state.companyId ? { column: 'company_id' as const, id: state.companyId } : undefined,
    ];
    for (const owner of owners) {
      if (!owner) continue;
      const cleared = await repo.clearPrimary(
        tx.ctx.scope,
        tx.db,
        owner,
        id,
        tx.now,
        this.deps.database.bool,
      );
      for (const row of await repo.findContactsByIds(tx.ctx.scope, tx.db, cleared)) {
        tx.record({ resource: 'contact', id: row.id, action: 'updated', after: toContact(row) });
      }
    }
  }

  private recordRow(tx: WriteTx, row: Row, action: 'created' | 'updated'): Contact {
    const contact = toContact(row);
    tx.record({ resource: 'contact', id: row.id, action, after: contact });
    return contact;
  }

  private async recordCurrent(
    tx: WriteTx,
    id: string,
    action: 'created' | 'updated' | 'deleted' | 'restored',
  ) {
    const row = await repo.findContact(tx.ctx.scope, tx.db, id, { includeDeleted: true });
    if (!row) throw notFound(id);
    const contact = toContact(row);
    tx.record({ resource: 'contact', id, action, after: contact });
    return contact;
  }
}

/** The stored columns a write may leave alone when unchanged (the document is always rewritten). */
function storedValues(row: Row): Omit<repo.ContactValues, 'doc'> {
  const { patient_id, company_id, relationship, is_primary, source, external_id } = row;
  const { sort_name, sort_last, sort_company } = row;
  return {
    patient_id,
    company_id,
    relationship,
    is_primary,
    source,
    external_id,
    sort_name,
    sort_last,
    sort_company,
  };
}

/**
 * The row a contact state is stored as (document plus indexed columns). Exported for bulk loaders (the benchmark
 * dataset builder), which must store exactly what the service would.
 */
export function rowValues(
  state: ContactState,
  authors: { createdBy: string; updatedBy: string },
  bool: Database['bool'],
): repo.ContactValues {
  const { patientId, companyId, relationship, isPrimary, source, externalId, ...rest } = state;
  const doc: ContactDoc = { ...rest, ...authors };
  return {
    patient_id: patientId,
    company_id: companyId,
    relationship,
    is_primary: bool(isPrimary),
    source,
    external_id: externalId,
    sort_name: sortKey(state.displayName),
    sort_last: sortKey(state.lastName),
    sort_company: sortKey(state.company),
    doc: toJson(doc),
  };
}
