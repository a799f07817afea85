// A subscription of one stream: its filter and its position in the instance's sequence, and the event message
// sent for it. A stream shows events through a view: the change feed's own, or a compatibility face's (fewer
// types, its own field names in `data`).
import { EVENT_TYPES, type Event, type EventType } from '../events/events.schemas.ts';

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

/** What a stream shows of the instance's events. */
export interface StreamView {
  /** The event types the stream carries; a client's policy narrows them further. */
  types: readonly EventType[];
  /** The event's `data` as the stream sends it (a face's field names); the change feed's when absent. */
  payload?: (event: Event) => unknown;
}

/** The change feed's view: every type, every event as the feed has it. */
export const FEED_VIEW: StreamView = { types: EVENT_TYPES };

/** An event encoded for one view: its JSON, and the message bytes per subscription id. */
export interface Encoded {
  json: string;
  /** The encoded message per subscription id: sockets whose subscriptions share an id share the bytes. */
  messages: Map<string, Buffer>;
}

/** An event with its JSON, serialised once per read (and per view) however many sockets receive it. */
export interface Delivery extends Encoded {
  event: Event;
  /** The event for views with a payload of their own, encoded on first use. */
  views: Map<StreamView, Encoded>;
}

export function encodeEvent(view: StreamView, event: Event): string {
  return JSON.stringify(view.payload ? { ...event, data: view.payload(event) } : event);
}

/** The delivery's encoding for a view: the feed's own unless the view maps the payload. */
export function encodedFor(delivery: Delivery, view: StreamView): Encoded {
  if (!view.payload) return delivery;
  let encoded = delivery.views.get(view);
  if (!encoded) {
    encoded = { json: encodeEvent(view, delivery.event), messages: new Map() };
    delivery.views.set(view, encoded);
  }
  return encoded;
}

/** Whether the subscription wants the event (its types are already narrowed to what the policy lets it read). */
export function matches(sub: Subscription, event: Event): boolean {
  return sub.types.has(event.type) && (sub.resources === null || sub.resources.has(event.resourceId));
}

/** The event message, built by splicing: the event's JSON is made once per read, not once per socket. */
export function eventMessage(sub: Subscription, json: string): string {
  return `{"type":"event","subscription":${sub.idJson},"event":${json}}`;
}
