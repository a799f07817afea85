// From the list route's query parameters to the repository's filter, and the compact projection.
import { invalidFields } from '../../platform/errors.ts';
import { isSet } from '../../platform/http/schema-helpers.ts';
import type { ListFilter } from './contacts.repository.ts';
import type { Contact, ListQuery } from './contacts.schemas.ts';
import { parseQuery, words } from './contacts.search.ts';

export function toListFilter(query: ListQuery, phoneRegion: string): ListFilter {
  if (isSet(query.includeDeleted) && isSet(query.onlyDeleted)) {
    throw invalidFields(
      [{ field: 'onlyDeleted', message: 'cannot be combined with includeDeleted' }],
      'querystring',
    );
  }
  const search = query.search?.trim() ? parseQuery(query.search, phoneRegion) : undefined;
  return {
    // A search with nothing searchable in it (only punctuation) matches nothing rather than everything.
    ...(query.search?.trim() ? { search: search ?? [[{ text: '_', prefix: false }]] } : {}),
    ...(query.tag?.length ? { tags: [...new Set(query.tag)] } : {}),
    ...(words(query.company).length > 0 ? { companyWords: words(query.company) } : {}),
    ...(query.source !== undefined ? { source: query.source } : {}),
    ...(query.patientId !== undefined ? { patientId: query.patientId } : {}),
    ...(query.companyId !== undefined ? { companyId: query.companyId } : {}),
    ...(query.relationship !== undefined ? { relationship: query.relationship } : {}),
    ...(query.updatedSince !== undefined ? { updatedSince: new Date(query.updatedSince).toISOString() } : {}),
    trash: isSet(query.onlyDeleted) ? 'only' : isSet(query.includeDeleted) ? 'include' : 'exclude',
  };
}

export function toCompact(contact: Contact) {
  const { id, displayName, email, phone, company, tags } = contact;
  return { id, displayName, email, phone, company, tags };
}
