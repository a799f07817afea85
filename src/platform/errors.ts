// One error class, one closed catalogue of codes, one renderer in Welkin's shape: a JSON array of
// {errorCode, componentType, message, details, date}. Status codes come from the catalogue, never from text.
import { Type, type Static } from 'typebox';

export const CATALOGUE = {
  NOT_VALID_JSON_WEB_TOKEN: { status: 401, component: 'AUTH', message: 'Not valid JWT' },
  TOKEN_EXPIRED: { status: 401, component: 'AUTH', message: 'Token expired' },
  NOT_VALID_CREDENTIALS: { status: 401, component: 'AUTH', message: 'API client key or secret is not valid' },
  ACCESS_FOR_API_CLIENT_RESTRICTED: {
    status: 403,
    component: 'AUTH',
    message: 'Access to this API is restricted for the APIClient',
  },
  TOKEN_RATE_LIMIT_EXCEEDED: {
    status: 429,
    component: 'AUTH',
    message: 'Too many token requests; token issuance is blocked for a while',
  },
  RATE_LIMIT_EXCEEDED: {
    status: 429,
    component: 'REQUEST',
    message: 'Too many requests; wait for the time Retry-After gives',
  },
  VALIDATION_ERROR: { status: 400, component: 'REQUEST', message: 'Request validation failed' },
  MALFORMED_REQUEST: { status: 400, component: 'REQUEST', message: 'Request body is not valid JSON' },
  NOT_FOUND: { status: 404, component: 'REQUEST', message: 'Resource not found' },
  ROUTE_NOT_FOUND: { status: 404, component: 'REQUEST', message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, component: 'REQUEST', message: 'Method not allowed on this route' },
  CONFLICT: { status: 409, component: 'REQUEST', message: 'Conflicts with the current state' },
  PRECONDITION_FAILED: {
    status: 412,
    component: 'REQUEST',
    message: 'The resource has changed since the ETag given in If-Match',
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    component: 'REQUEST',
    message: 'A request with this Idempotency-Key is still being processed',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    component: 'REQUEST',
    message: 'This Idempotency-Key was used with a different request',
  },
  PAYLOAD_TOO_LARGE: { status: 413, component: 'REQUEST', message: 'Request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, component: 'REQUEST', message: 'Unsupported content type' },
  CURSOR_EXPIRED: {
    status: 410,
    component: 'REQUEST',
    message: 'The cursor is older than the retained history; resynchronise from scratch',
  },
  UPGRADE_REQUIRED: {
    status: 426,
    component: 'REQUEST',
    message: 'This route speaks WebSocket: open it with an Upgrade request',
  },
  INTERNAL_ERROR: { status: 500, component: 'SERVER', message: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, component: 'SERVER', message: 'Service unavailable' },
} as const satisfies Record<string, { status: number; component: string; message: string }>;

export type ErrorCode = keyof typeof CATALOGUE;

export class KithError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: { message?: string; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    // A KithError is an expected answer (401, 404, …), never a bug to trace: capturing a stack costs more than
    // the rest of a rejected request, so none is taken. Unexpected errors keep theirs and are logged as they are.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(options.message ?? CATALOGUE[code].message);
    Error.stackTraceLimit = limit;
    this.name = 'KithError';
    this.code = code;
    this.status = CATALOGUE[code].status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** A field that failed a rule, by its path in the request (e.g. `phones[1].number`). */
export interface FieldProblem {
  field: string;
  message: string;
}

/** VALIDATION_ERROR naming every failing field, in the shape the request validator's errors have. */
export function invalidFields(
  problems: readonly FieldProblem[],
  location: 'body' | 'querystring' | 'params' | 'headers' = 'body',
): KithError {
  return new KithError('VALIDATION_ERROR', {
    message: `Invalid ${location}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
    details: { fields: problems.map((p) => ({ ...p, location })) },
  });
}

export const ErrorItemSchema = Type.Object(
  {
    errorCode: Type.String({ description: 'A code from the closed catalogue' }),
    componentType: Type.String(),
    message: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    date: Type.String({ format: 'date-time' }),
  },
  { $id: 'KithErrorItem' },
);

export const ErrorBodySchema = Type.Array(Type.Ref('KithErrorItem'), {
  $id: 'KithError',
  description: 'Welkin-style error array',
});

export type ErrorItem = Static<typeof ErrorItemSchema>;

export function renderError(error: KithError, now: Date): ErrorItem[] {
  return [
    {
      errorCode: error.code,
      componentType: CATALOGUE[error.code].component,
      message: error.message,
      details: error.details,
      date: now.toISOString(),
    },
  ];
}
