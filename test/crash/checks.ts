// What must hold after the crashes, as pure functions of what the test recorded and what the database holds.
// Each returns a list of problems (empty when all is well), so a failure names every broken write or event.
import { ABSENT, apply, type ContactState, type Op, type WriteLog } from './write-loop.ts';
import type { Delivery } from './receiver.ts';

export interface ContactRow {
  id: string;
  version: number;
  deleted: boolean;
  lastName: string | null;
  notes: string | null;
}

export interface EventRow {
  id: string;
  seq: number;
  type: string;
  resourceId: string;
  /** The resource after the change, or its tombstone. */
  data: { lastName?: string; notes?: string | null; permanent?: boolean };
}

const EVENT_TYPE: Record<Op['kind'], string> = {
  create: 'contact.created',
  patch: 'contact.updated',
  delete: 'contact.deleted',
  restore: 'contact.restored',
  purge: 'contact.deleted',
};

const same = (a: ContactState, b: ContactState) =>
  a.exists === b.exists && (!a.exists || (a.deleted === b.deleted && a.notes === b.notes));

const show = (s: ContactState) =>
  s.exists ? `${s.deleted ? 'deleted' : 'live'}, notes ${s.notes}` : 'absent';

/** The event a committed write must have produced, as far as the test can tell it apart. */
function eventMatches(op: Op, event: EventRow): boolean {
  if (event.type !== EVENT_TYPE[op.kind]) return false;
  if (op.kind === 'create' || op.kind === 'patch') return event.data.notes === op.marker;
  if (op.kind === 'delete' || op.kind === 'purge')
    return (event.data.permanent === true) === (op.kind === 'purge');
  return true;
}

/**
 * Every acknowledged write is present (the contact is in its acknowledged state, or in the state of the one
 * unanswered write after it), and every committed write has exactly one event, in order: the contact's events
 * are exactly its committed writes, and as many as its version counts.
 */
export function checkWrites(
  log: WriteLog,
  rows: ContactRow[],
  events: EventRow[],
): { problems: string[]; committedUnanswered: number } {
  const problems: string[] = [];
  let committedUnanswered = 0;
  const rowsByKey = new Map<string, ContactRow[]>();
  for (const row of rows)
    rowsByKey.set(row.lastName ?? '', [...(rowsByKey.get(row.lastName ?? '') ?? []), row]);
  const eventsById = new Map<string, EventRow[]>();
  for (const event of events)
    eventsById.set(event.resourceId, [...(eventsById.get(event.resourceId) ?? []), event]);
  // A contact whose create went unanswered and which is gone again cannot exist: an unanswered write retires it.
  const createdByKey = new Map(
    events.filter((e) => e.type === 'contact.created').map((e) => [e.data.lastName ?? '', e.resourceId]),
  );
  const tracked = new Set<string>();

  for (const contact of log.contacts) {
    const label = `contact ${contact.key}`;
    const matching = rowsByKey.get(contact.key) ?? [];
    if (matching.length > 1) problems.push(`${label}: ${matching.length} rows (a create committed twice)`);
    const row = matching[0];
    const id = contact.id ?? row?.id ?? createdByKey.get(contact.key);
    if (contact.id !== undefined && row && row.id !== contact.id) problems.push(`${label}: row id ${row.id}`);
    if (id !== undefined) tracked.add(id);

    const acked = contact.ops.filter((op) => op.outcome === 'acked');
    const last = contact.ops.at(-1);
    const uncertain = last?.outcome === 'unknown' ? last : undefined;
    const ackedState = acked.reduce(apply, ABSENT);
    const actual: ContactState = row ? { exists: true, deleted: row.deleted, notes: row.notes } : ABSENT;
    const laterState = uncertain ? apply(ackedState, uncertain) : undefined;
    const committedUncertain =
      laterState !== undefined && same(actual, laterState) && !same(actual, ackedState);
    if (!same(actual, ackedState) && !committedUncertain) {
      problems.push(
        `${label}: found ${show(actual)}; acknowledged ${show(ackedState)}` +
          (laterState ? ` (or, after the unanswered ${uncertain!.kind}, ${show(laterState)})` : ''),
      );
      continue;
    }
    if (committedUncertain) committedUnanswered++;
    const committed = committedUncertain ? [...acked, uncertain!] : acked;
    const mine = id === undefined ? [] : (eventsById.get(id) ?? []);
    if (mine.length !== committed.length || committed.some((op, i) => !eventMatches(op, mine[i]!))) {
      problems.push(
        `${label} (${id}): committed writes ${committed.map((op) => `${op.kind}:${op.marker}`).join(' ')}; ` +
          `events ${mine.map((e) => `${e.type}#${e.seq}`).join(' ') || 'none'}`,
      );
    }
    if (row && row.version !== mine.length) {
      problems.push(`${label} (${id}): version ${row.version} but ${mine.length} events`);
    }
  }
  for (const resourceId of eventsById.keys()) {
    if (!tracked.has(resourceId)) problems.push(`events for ${resourceId}, which no writer wrote`);
  }
  return { problems, committedUnanswered };
}

/** The instance's sequence: 1…last with no gap and no number used twice. */
export function checkSequence(events: EventRow[], lastSeq: number): string[] {
  const problems: string[] = [];
  if (events.length !== lastSeq) problems.push(`${events.length} events but the sequence is at ${lastSeq}`);
  events.forEach((event, i) => {
    if (event.seq !== i + 1) problems.push(`event ${event.id} has sequence ${event.seq}, expected ${i + 1}`);
  });
  return problems.slice(0, 20);
}

/**
 * Every event reached the receiver at least once, nothing else did, and per resource the first arrivals came in
 * sequence order (a redelivery after a crash may repeat an event, never overtake an earlier one).
 */
export function checkDeliveries(events: EventRow[], deliveries: Delivery[], rejected: string[]): string[] {
  const problems = rejected.map((r) => `delivery rejected by the verifier: ${r}`);
  const known = new Map(events.map((e) => [e.id, e]));
  const first = new Map<string, Delivery>();
  for (const d of deliveries) {
    const event = known.get(d.webhookId);
    if (!event) problems.push(`delivered ${d.webhookId}, which is not a committed event`);
    else if (d.event.sequence !== event.seq || d.event.type !== event.type) {
      problems.push(`delivered ${d.webhookId} as ${d.event.type}#${d.event.sequence}`);
    }
    if (!first.has(d.webhookId)) first.set(d.webhookId, d);
  }
  const missing = events.filter((e) => !first.has(e.id));
  if (missing.length > 0) {
    problems.push(
      `${missing.length} events never delivered, e.g. ${missing
        .slice(0, 5)
        .map((e) => e.id)
        .join(', ')}`,
    );
  }
  const lastByResource = new Map<string, number>();
  for (const d of [...first.values()].sort((a, b) => a.index - b.index)) {
    const before = lastByResource.get(d.event.resourceId) ?? 0;
    if (d.event.sequence < before) {
      problems.push(`${d.event.resourceId}: event #${d.event.sequence} first arrived after #${before}`);
    }
    lastByResource.set(d.event.resourceId, Math.max(before, d.event.sequence));
  }
  return problems;
}

/** Counts for the test's report. */
export function summarise(log: WriteLog, events: EventRow[], deliveries: Delivery[]): string {
  const byKind = new Map<string, number>();
  for (const c of log.contacts)
    for (const op of c.ops)
      byKind.set(op.kind, (byKind.get(op.kind) ?? 0) + (op.outcome === 'acked' ? 1 : 0));
  const unique = new Set(deliveries.map((d) => d.webhookId)).size;
  return (
    `${log.counts.acked} acknowledged writes (${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}), ` +
    `${log.counts.unknown} unanswered, ${log.counts.refused} refused while down; ${events.length} events; ` +
    `${deliveries.length} deliveries of ${unique} distinct events (${deliveries.length - unique} repeats)`
  );
}
