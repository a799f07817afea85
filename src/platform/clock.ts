/** Time as Kith sees it. Injected so tests can move it (token expiry) without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
