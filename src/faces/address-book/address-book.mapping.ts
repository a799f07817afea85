// Between seed 004's snake_case and the contact model: request bodies and list queries in, contacts and event
// payloads out, and the model's field names in the service's error messages. Pure.
import { KithError } from '../../platform/errors.ts';
import type { Event } from '../../modules/events/events.schemas.ts';
import { toCompact } from '../../modules/contacts/contacts.query.ts';
import type {
  Contact as ModelContact,
  ContactInput,
  ListQuery as ModelListQuery,
} from '../../modules/contacts/contacts.schemas.ts';
import type {
  Address,
  CompactContact,
  Contact,
  ContactCreate,
  ListQuery,
  SORTS,
} from './address-book.schemas.ts';

/** Each writable wire field and the model field it is. */
const FIELDS = {
  display_name: 'displayName',
  first_name: 'firstName',
  last_name: 'lastName',
  emails: 'emails',
  phones: 'phones',
  company: 'company',
  job_title: 'jobTitle',
  addresses: 'addresses',
  notes: 'notes',
  avatar_path: 'avatarUrl',
  tags: 'tags',
  custom_fields: 'customFields',
  source: 'source',
} as const satisfies Record<keyof ContactCreate, keyof ContactInput>;

const SORT: Record<(typeof SORTS)[number], NonNullable<ModelListQuery['sort']>> = {
  display_name: 'displayName',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  company: 'company',
};

/** The model's names the service may put in an error, and the face's for them. */
const WIRE_NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(FIELDS).map(([wire, name]) => [name, wire])),
  postalCode: 'postal_code',
  includeDeleted: 'include_deleted',
  onlyDeleted: 'only_deleted',
};

type ModelAddress = NonNullable<ContactInput['addresses']>[number];

function addressIn(a: Address): ModelAddress {
  const { postal_code, ...rest } = a;
  return postal_code === undefined ? rest : { ...rest, postalCode: postal_code };
}

function addressOut(a: ModelAddress): Address {
  return {
    street: a.street ?? null,
    city: a.city ?? null,
    state: a.state ?? null,
    postal_code: a.postalCode ?? null,
    country: a.country ?? null,
    label: a.label ?? null,
  };
}

/** A create or PATCH body as the model's input: only the fields sent (PATCH leaves the others alone). */
export function toInput(body: Partial<ContactCreate>): ContactInput {
  const input: Record<string, unknown> = {};
  for (const [wire, name] of Object.entries(FIELDS)) {
    if (Object.hasOwn(body, wire)) input[name] = body[wire as keyof ContactCreate];
  }
  if (body.addresses) input.addresses = body.addresses.map(addressIn);
  // The seed's "no custom fields" is null; the model's is an empty object.
  if (body.custom_fields === null) input.customFields = {};
  return input;
}

export function toWire(c: ModelContact): Contact {
  return {
    id: c.id,
    display_name: c.displayName,
    first_name: c.firstName,
    last_name: c.lastName,
    emails: c.emails.map(({ address, label, primary }) => ({ address, label, primary })),
    phones: c.phones.map(({ number, label, primary }) => ({ number, label, primary })),
    company: c.company,
    job_title: c.jobTitle,
    addresses: c.addresses.map(addressOut),
    notes: c.notes,
    avatar_path: c.avatarUrl,
    tags: c.tags,
    // The seed documents null as the default: a contact without custom fields shows null, not {}.
    custom_fields: Object.keys(c.customFields).length > 0 ? c.customFields : null,
    source: c.source,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    deleted_at: c.deletedAt,
  };
}

export function toWireCompact(c: ModelContact): CompactContact {
  const { id, displayName, email, phone, company, tags } = toCompact(c);
  return { id, display_name: displayName, email, phone, company, tags };
}

/** The list's query as the directory's, so filters and paging go through the same code. */
export function toListQuery(query: ListQuery): ModelListQuery {
  return {
    limit: query.limit,
    offset: query.offset,
    ...(query.sort ? { sort: SORT[query.sort] } : {}),
    ...(query.order ? { order: query.order } : {}),
    ...(query.search !== undefined ? { search: query.search } : {}),
    ...(query.tag ? { tag: query.tag } : {}),
    ...(query.company !== undefined ? { company: query.company } : {}),
    ...(query.source !== undefined ? { source: query.source } : {}),
    ...(query.include_deleted !== undefined ? { includeDeleted: query.include_deleted } : {}),
    ...(query.only_deleted !== undefined ? { onlyDeleted: query.only_deleted } : {}),
  };
}

/** A contact event's `data` in the face's names: the contact, or the tombstone of a deletion. */
export function eventPayload(event: Event): unknown {
  const data = event.data as
    ModelContact | { id: string; deleted: true; permanent: boolean; deletedAt: string };
  if ('deleted' in data) {
    return { id: data.id, deleted: true, permanent: data.permanent, deleted_at: data.deletedAt };
  }
  return toWire(data);
}

function wireText(text: string): string {
  return text.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (name) => WIRE_NAMES[name] ?? name);
}

/**
 * Runs a service call and words its errors in the face's field names (`displayName` → `display_name`). Only the
 * service's errors: the face's own validation already names what the client sent.
 */
export async function inWireTerms<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof KithError)) throw error;
    const fields = error.details.fields as Array<{ field: string; message: string }> | undefined;
    throw new KithError(error.code, {
      message: wireText(error.message),
      details: {
        ...error.details,
        ...(fields
          ? { fields: fields.map((f) => ({ ...f, field: wireText(f.field), message: wireText(f.message) })) }
          : {}),
      },
      headers: error.headers,
    });
  }
}
