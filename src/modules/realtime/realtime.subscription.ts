// A subscription of one stream: its filter and its position in the instance's sequence, and the event message
// sent for it.
import type { Event, EventType } from '../events/events.schemas.ts';

export interface Subscription {
  id: string;
  /** The id as a JSON string, spliced into every event message. */
  idJson: string;
  /** The types asked for; undefined means every type the client may read, now or after a policy change. */
  requested: readonly EventType[] | undefined;
  types: ReadonlySet<string>;
  resources: ReadonlySet<string> | null;
  /** Every event up to this sequence number has been sent or skipped. */
  position: number;
  /** False while catching up from lastEventId: live events are then left to the catch-up reads. */
  live: boolean;
}

/** An event with its JSON, serialised once per read however many sockets receive it. */
export interface Delivery {
  event: Event;
  json: string;
  /** The encoded message per subscription id: sockets whose subscriptions share an id share the bytes. */
  messages: Map<string, Buffer>;
}

/** Whether the subscription wants the event (its types are already narrowed to what the policy lets it read). */
export function matches(sub: Subscription, event: Event): boolean {
  return sub.types.has(event.type) && (sub.resources === null || sub.resources.has(event.resourceId));
}

/** The event message, built by splicing: the event's JSON is made once per read, not once per socket. */
export function eventMessage(sub: Subscription, json: string): string {
  return `{"type":"event","subscription":${sub.idJson},"event":${json}}`;
}
