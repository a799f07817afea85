// Small builders shared by resource schemas, so nullability, query flags and ids are written one way everywhere.
import { Type, type Static, type TSchema } from 'typebox';

/**
 * The schema or null, as one JSON-Schema type list (`["string","null"]`) rather than a union, so a wrong value
 * yields one clear message instead of one per branch.
 */
export function Nullable<T extends TSchema>(schema: T) {
  const s = schema as unknown as { type?: string; enum?: unknown[] };
  const widened = {
    ...schema,
    ...(s.type ? { type: [s.type, 'null'] } : {}),
    ...(s.enum ? { enum: [...s.enum, null] } : {}),
  };
  return Type.Unsafe<Static<T> | null>(widened);
}

/** A string from a fixed list (one `enum`, so errors name the allowed values). */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: { description?: string } = {},
) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * A boolean query parameter. Also takes `True`/`False`, which the Welkin Python client sends (R: `includeArchived=
 * False`), and 1/0.
 */
export const QueryFlag = Type.Unsafe<boolean | string>({
  anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['True', 'False', '1', '0'] }],
});

export function isSet(flag: boolean | string | undefined): boolean {
  return flag === true || flag === 'True' || flag === '1';
}

export const Id = Type.String({ minLength: 1, maxLength: 64, description: 'Resource id (UUID)' });
