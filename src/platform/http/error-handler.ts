// Maps everything thrown while handling a request to a KithError and renders it in Welkin's array shape.
// Framework errors are recognised by their codes; anything unrecognised is a 500 that carries only the request id.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import { invalidFields, KithError, renderError } from '../errors.ts';

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/phones/1/number` → `phones[1].number`; JSON-pointer escapes undone. */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce(
    (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part),
    '',
  );
}

function describe(issue: AjvIssue): { field: string; message: string } {
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return { field: fieldPath(issue.instancePath, String(p.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return {
        field: fieldPath(issue.instancePath, String(p.additionalProperty)),
        message: 'is not allowed',
      };
    default:
      return { field: fieldPath(issue.instancePath), message: issue.message ?? `fails ${issue.keyword}` };
  }
}

function fromValidation(error: FastifyError): KithError {
  const location = error.validationContext ?? 'body';
  const seen = new Set<string>();
  const fields = (error.validation as AjvIssue[])
    .map(describe)
    .map((f) => ({ ...f, field: f.field || location }))
    // anyOf/union failures repeat one field several times; name each field once.
    .filter((f) => !seen.has(`${f.field} ${f.message}`) && seen.add(`${f.field} ${f.message}`));
  return invalidFields(fields, location);
}

const FRAMEWORK_CODES: Record<string, (e: FastifyError) => KithError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new KithError('UNSUPPORTED_MEDIA_TYPE', { message: 'Send JSON with Content-Type: application/json' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new KithError('MALFORMED_REQUEST', { message: 'Invalid Content-Length' }),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new KithError('PAYLOAD_TOO_LARGE'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new KithError('MALFORMED_REQUEST', { message: 'Content-Type is application/json but the body is empty' }),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new KithError('MALFORMED_REQUEST'),
};

export function toKithError(error: unknown): KithError | undefined {
  if (error instanceof KithError) return error;
  const e = error as FastifyError;
  if (e && Array.isArray(e.validation)) return fromValidation(e);
  const mapped = e && typeof e.code === 'string' ? FRAMEWORK_CODES[e.code] : undefined;
  if (mapped) return mapped(e);
  // The JSON parser's own SyntaxError (fastify marks it 400).
  if (e instanceof SyntaxError && e.statusCode === 400) return new KithError('MALFORMED_REQUEST');
  return undefined;
}

export function createErrorHandler(clock: Clock) {
  return function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    let kithError = toKithError(error);
    if (!kithError) {
      request.log.error({ err: error }, 'unhandled error');
      kithError = new KithError('INTERNAL_ERROR', { details: { requestId: request.id } });
    } else if (kithError.status >= 500) {
      request.log.error({ err: error }, kithError.code);
    }
    return sendError(request, reply, kithError, clock);
  };
}

/** Answers with an expected error (4xx) in Welkin's shape; the error handler and the access hook both use it. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: KithError, clock: Clock) {
  if (error.status < 500)
    request.log.info({ errorCode: error.code, status: error.status }, 'request rejected');
  const render = request.routeOptions.config?.renderError ?? renderError;
  return reply.code(error.status).headers(error.headers).send(render(error, clock.now()));
}
