// The face's error shape, `{"error": {"code", "message", "details"}}`, for every error of its routes (the access
// hook's 401/403, validation 400s, 404s, 500s). Codes are the seed's; the Kith code behind a broader one stays
// in details.reason (an expired token and a forged one are both UNAUTHORIZED).
import type { KithError } from '../../platform/errors.ts';
import type { ErrorBody } from './address-book.schemas.ts';

/** The seed's code for each status the catalogue answers with; other statuses keep the Kith code. */
const CODES: Record<number, string> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'CONFLICT',
  422: 'CONFLICT',
  429: 'RATE_LIMITED',
};

export function faceCode(error: KithError): string {
  if (error.status >= 500) return 'INTERNAL_ERROR';
  return CODES[error.status] ?? error.code;
}

/** `requestURI` → `request_uri`: detail keys in the face's style (field lists keep their own shape). */
function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z]+)/g, '$1_$2').toLowerCase();
}

export function renderError(error: KithError): ErrorBody {
  const code = faceCode(error);
  const details: Record<string, unknown> = Object.fromEntries(
    Object.entries(error.details).map(([key, value]) => [snake(key), value]),
  );
  if (code !== error.code) details.reason = error.code;
  return { error: { code, message: error.message, details } };
}
