// Optimistic concurrency: a resource's ETag is its version; If-Match names the versions a write may apply to.
import { KithError } from '../errors.ts';

export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * Parses If-Match into the versions it accepts: undefined when absent or `*` (any current version), else the
 * list (weak validators are compared by their value). An unparseable header can never match.
 */
export function parseIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  return header
    .split(',')
    .map((tag) => /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(tag)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
}

/** Throws 412 unless the current version is one of those If-Match accepts. */
export function checkIfMatch(accepted: number[] | undefined, current: number): void {
  if (accepted !== undefined && !accepted.includes(current)) {
    throw new KithError('PRECONDITION_FAILED', { details: { currentETag: etagOf(current) } });
  }
}
