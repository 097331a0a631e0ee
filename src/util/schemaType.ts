/**
 * The TypeScript type of a JSON schema declared `as const`, so a schema is the one declaration of a shape and its type
 * follows it (a field the schema lacks does not type-check). Covers the subset this code base writes:
 * `type` (a name or a list of names), `enum`, `items`, `properties` with `required`, `additionalProperties`,
 * `anyOf`/`oneOf`, and `$ref` to a schema whose type is passed in `Refs` by its `$id`.
 *
 * The type is that of the data after ajv validated it with `useDefaults`: a property with a `default` is present.
 * An object schema without `additionalProperties` types only its declared properties; `additionalProperties: true`
 * adds an index signature of `unknown`, a schema one of that schema's type.
 */
export type FromSchema<S, Refs = object> = S extends { $ref: infer R extends keyof Refs }
  ? Refs[R]
  : S extends { anyOf: readonly (infer A)[] }
    ? FromSchema<A, Refs>
    : S extends { oneOf: readonly (infer A)[] }
      ? FromSchema<A, Refs>
      : S extends { enum: readonly (infer E)[] }
        ? E
        : S extends { type: readonly (infer T)[] }
          ? FromType<T, S, Refs>
          : S extends { type: infer T }
            ? FromType<T, S, Refs>
            : unknown;

type FromType<T, S, Refs> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? S extends { items: infer I }
            ? FromSchema<I, Refs>[]
            : unknown[]
          : T extends 'object'
            ? Flat<Properties<S, Refs> & Additional<S, Refs>>
            : unknown;

type Properties<S, Refs> = S extends { properties: infer P }
  ? { -readonly [K in keyof P as K extends Present<S, P> ? K : never]-?: FromSchema<P[K], Refs> } & {
      -readonly [K in keyof P as K extends Present<S, P> ? never : K]?: FromSchema<P[K], Refs>;
    }
  : unknown;

/** Properties that are there after validation: required ones, and those with a default. */
type Present<S, P> = (S extends { required: readonly (infer R)[] } ? R : never) | { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];

type Additional<S, Refs> = S extends { additionalProperties: true }
  ? { [key: string]: unknown }
  : S extends { additionalProperties: infer A extends object }
    ? { [key: string]: FromSchema<A, Refs> }
    : unknown;

type Flat<T> = { [K in keyof T]: T[K] };
