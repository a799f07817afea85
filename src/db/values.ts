// Conversions between what the two engines return and what the services use. Kept tiny and pure so a row
// mapper reads the same whatever the engine.

/** An ISO-8601 UTC string with milliseconds, the form every Kith response uses. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toBool(value: boolean | number): boolean {
  return value === true || value === 1;
}

export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}
