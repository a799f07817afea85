// Between seed 003's wire format and the contact model, both ways, and its errors. Pure.
import type { ErrorCode, KithError } from '../../platform/errors.ts';
import type { Contact, ContactInput } from '../../modules/contacts/contacts.schemas.ts';
import type { ContactPatch, FaceContact } from './company-contacts.schemas.ts';

/** Each wire field and the model field it is. */
const MODEL_FIELDS = {
  company_id: 'companyId',
  first_name: 'firstName',
  last_name: 'lastName',
  email: 'email',
  phone: 'phone',
  designation: 'jobTitle',
  is_primary: 'isPrimary',
} as const satisfies Record<keyof ContactPatch, keyof ContactInput>;

const WIRE_FIELDS: Record<string, string> = Object.fromEntries(
  Object.entries(MODEL_FIELDS).map(([wire, model]) => [model, wire]),
);

/** The errors this face raises itself carry their wire text here; the rest are worded by code below. */
export const DETAIL = 'detail';

export const COMPANY_FORBIDDEN = "Not enough permissions to access this company's contacts";
export const COMPANY_NOT_FOUND = 'Company not found';

export function toInput(body: ContactPatch): ContactInput {
  return Object.fromEntries(
    Object.entries(body).map(([field, value]) => [MODEL_FIELDS[field as keyof ContactPatch], value]),
  );
}

export function toFace(contact: Contact): FaceContact {
  return {
    id: contact.id,
    company_id: contact.companyId,
    first_name: contact.firstName,
    last_name: contact.lastName,
    email: contact.email,
    // As the caller wrote it (the model's `phone` is the E.164 form).
    phone: contact.phones.find((p) => p.primary)?.number ?? null,
    designation: contact.jobTitle,
    is_primary: contact.isPrimary,
    created_at: contact.createdAt,
    updated_at: contact.updatedAt,
  };
}

/** `jobTitle` → `designation`, `phones[0].number` → `phone[0].number`: a model field path in wire names. */
function wireField(path: string): string {
  const [head = '', ...rest] = path.split(/(?=[.[])/);
  return [WIRE_FIELDS[head] ?? head, ...rest].join('');
}

function validationDetail(error: KithError): string {
  const fields = (error.details.fields ?? []) as Array<{ field: string; message: string }>;
  // The service checks the company inside the write; the face's schema has already checked its form.
  if (fields.some((f) => f.field === 'companyId')) return COMPANY_NOT_FOUND;
  if (fields.length === 0) return error.message;
  return fields.map((f) => `${wireField(f.field)} ${f.message}`).join('; ');
}

/** How FastAPI words the errors Kith raises for this face; any other keeps its message. */
const WORDING: Partial<Record<ErrorCode, (error: KithError) => string>> = {
  // A bare challenge means no credentials were sent (RFC 6750).
  NOT_VALID_JSON_WEB_TOKEN: (e) =>
    e.headers['www-authenticate'] === 'Bearer' ? 'Not authenticated' : 'Could not validate credentials',
  TOKEN_EXPIRED: () => 'Token expired',
  ACCESS_FOR_API_CLIENT_RESTRICTED: () => 'Not enough permissions',
  VALIDATION_ERROR: validationDetail,
  RATE_LIMIT_EXCEEDED: () => 'Rate limit exceeded',
  INTERNAL_ERROR: () => 'Internal Server Error',
};

/** Every error of the face's routes as `{"detail": "…"}`; the status and headers stay the KithError's. */
export function renderFaceError(error: KithError): { detail: string } {
  const own = error.details[DETAIL];
  if (typeof own === 'string') return { detail: own };
  return { detail: WORDING[error.code]?.(error) ?? error.message };
}
