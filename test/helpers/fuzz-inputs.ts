/**
 * fast-check generators for requests to any route, derived from what the app says about itself:
 * its route table (every route, documented or not) and its /openapi.json (parameter and body
 * schemas, with their examples). A request starts plausible — values that fit the schema, often
 * the documented example — and then gets a few mutations (a hostile value in one field, an unknown
 * field, a dropped field, a body that is not the right shape at all), so the fuzzing reaches past
 * the first validation error into the handlers.
 */
import fc from "fast-check";

/** The subset of JSON Schema that @hono/zod-openapi emits and the generators read. */
interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: JsonSchema;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly example?: unknown;
  readonly default?: unknown;
}

interface OpenApiParameter {
  readonly name: string;
  readonly in: "path" | "query" | "header" | "cookie";
  readonly schema?: JsonSchema;
}

interface OpenApiOperation {
  readonly parameters?: readonly OpenApiParameter[];
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: JsonSchema }> };
}

export interface OpenApiDocument {
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components?: { readonly schemas?: Record<string, JsonSchema> };
}

/** A route as the app serves it, with what its document says about its inputs (if anything). */
export interface RouteShape {
  readonly method: string;
  /** Hono's pattern, e.g. `/v1/images/:key`. */
  readonly pattern: string;
  readonly pathParams: readonly string[];
  readonly paramSchemas: Readonly<Record<string, JsonSchema | undefined>>;
  readonly querySchemas: Readonly<Record<string, JsonSchema | undefined>>;
  readonly bodySchema: JsonSchema | undefined;
}

type Identity = "none" | "malformed" | "unknown-key" | "user" | "admin";

/** One generated request, printable as a fast-check counterexample. */
export interface FuzzRequest {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly identity: Identity;
  readonly contentType: string | null;
  /** Raw body text (JSON or not); `parsedBody` is the value when it was generated as JSON. */
  readonly body: string | null;
  readonly parsedBody: unknown;
  readonly pathValues: Readonly<Record<string, string>>;
}

/** Names that a prototype-backed lookup (`map[name]`) finds on every plain object. */
const PROTOTYPE_NAMES = ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty", "isPrototypeOf"] as const;

const PATH_PARAM = /:(\w+)(?:\{[^}]*\})?/g;

/** Every concrete route of the app, joined with its OpenAPI operation when it has one. */
export function routeShapes(routes: readonly { method: string; path: string }[], doc: OpenApiDocument): RouteShape[] {
  const seen = new Set<string>();
  const shapes: RouteShape[] = [];
  for (const { method, path } of routes) {
    // Middleware registrations show up as method ALL (and path patterns with `*`); they are not routes.
    if (method === "ALL" || path.includes("*")) continue;
    const id = `${method} ${path}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const documentedPath = path.replace(PATH_PARAM, "{$1}");
    const operation = doc.paths[documentedPath]?.[method.toLowerCase()];
    const parameters = operation?.parameters ?? [];
    const schemasIn = (where: OpenApiParameter["in"]) =>
      Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, p.schema && resolve(p.schema, doc)]));
    const body = operation?.requestBody?.content?.["application/json"]?.schema;
    shapes.push({
      method,
      pattern: path,
      pathParams: [...path.matchAll(PATH_PARAM)].map((m) => m[1]!),
      paramSchemas: schemasIn("path"),
      querySchemas: schemasIn("query"),
      bodySchema: body && resolve(body, doc),
    });
  }
  return shapes;
}

function resolve(schema: JsonSchema, doc: OpenApiDocument): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace("#/components/schemas/", "");
  const target = doc.components?.schemas?.[name];
  if (!target) throw new Error(`/openapi.json refers to ${schema.$ref}, which it does not define`);
  return resolve(target, doc);
}

/** Values no field should choke on: prototype names, traversal, control characters, huge and odd numbers, wrong types. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  // Weighted up: the classic crash of a config lookup, and cheap to hit.
  { weight: 3, arbitrary: fc.constantFrom<unknown>(...PROTOTYPE_NAMES) },
  fc.constantFrom<unknown>("", " ", "..", "../../etc/passwd", "%", "%00", "\u0000", "\ud800", "null", "-1", "1e309", "0x10", "a/../b", "//", "_dead-letters/x"),
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.integer({ min: 1025, max: 1500 }).map((n) => "k".repeat(n)),
  fc.integer(),
  fc.constantFrom<unknown>(-1, 0, 2 ** 53, 1e308, -0, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
);

/** Text for places that only take text (path segments, query values). */
const hostileText: fc.Arbitrary<string> = hostileValue.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));

/**
 * Words the world under test knows (configured backend and style names, callers, dates), offered
 * for any string field: a schema cannot say which names exist, and without them nearly every
 * request would stop at "unknown backend".
 */
export type Vocabulary = readonly string[];

/** A value that fits `schema`, or comes close (patterns and lengths are honoured when fast-check can). */
function plausible(schema: JsonSchema | undefined, words: Vocabulary): fc.Arbitrary<unknown> {
  if (!schema) return hostileValue;
  const fits = fitting(schema, words);
  return schema.example === undefined ? fits : fc.oneof(fc.constant(schema.example), fits);
}

function fitting(schema: JsonSchema, words: Vocabulary): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const alternatives = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => plausible(a, words)));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "string": {
      if (schema.pattern) {
        // A pattern says little about meaning (`\d{4}-\d{2}-\d{2}` is rarely a real date): prefer known words that fit.
        const pattern = new RegExp(schema.pattern);
        const known = words.filter((word) => pattern.test(word));
        const shaped = fc.stringMatching(pattern);
        return known.length === 0 ? shaped : fc.oneof(fc.constantFrom(...known), shaped);
      }
      const shaped = fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 24, 24) });
      // The empty string, known names and names every plain object answers to, as often as arbitrary text.
      return fc.oneof(fc.constant(""), fc.constantFrom(...PROTOTYPE_NAMES), fc.constantFrom("mock", ...words), shaped);
    }
    case "integer":
      return fc.integer({ min: Math.max(schema.minimum ?? 0, -(2 ** 31)), max: Math.min(schema.maximum ?? 100, 2 ** 31) });
    case "number":
      return fc.double({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100, 1e6), noNaN: true });
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(plausible(schema.items, words), { maxLength: 3 });
    case "object":
      return plausibleObject(schema, words);
    default:
      return hostileValue;
  }
}

/** The required fields and at most two optional ones: every extra field is one more way to stop at a 400. */
function plausibleObject(schema: JsonSchema, words: Vocabulary): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  const optional = Object.keys(properties).filter((name) => !required.includes(name));
  return fc.subarray(optional, { maxLength: Math.min(2, optional.length) }).chain((chosen) => {
    const fields = [...required, ...chosen].map((name) => [name, plausible(properties[name], words)] as const);
    return fc.record(Object.fromEntries(fields));
  });
}

type Mutation =
  | { readonly kind: "hostile"; readonly field: string; readonly value: unknown }
  | { readonly kind: "unknown-field"; readonly field: string; readonly value: unknown }
  | { readonly kind: "drop"; readonly field: string };

/** A plausible record with up to two mutations applied. */
function mutatedRecord(
  schemas: Readonly<Record<string, JsonSchema | undefined>>,
  required: readonly string[],
  words: Vocabulary,
): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(schemas);
  const base = plausibleObject({ properties: Object.fromEntries(names.map((n) => [n, schemas[n] ?? {}])), required }, words);
  if (names.length === 0) return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), hostileValue, { maxKeys: 2 });
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("hostile" as const), field: fc.constantFrom(...names), value: hostileValue }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("unknown-field" as const), field: fc.string({ minLength: 1, maxLength: 12 }), value: hostileValue }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), field: fc.constantFrom(...names) }) },
  );
  // Often none: a request with one bad field among good ones is the one that reaches deepest.
  const mutations = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) });
  return fc.tuple(base, mutations).map(([record, mutations]) => {
    const result: Record<string, unknown> = { ...record };
    for (const m of mutations) {
      if (m.kind === "drop") delete result[m.field];
      // defineProperty, not assignment: a field named "__proto__" must become an own key.
      else Object.defineProperty(result, m.field, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
    return result;
  });
}

const bodyOf = (shape: RouteShape, words: Vocabulary): fc.Arbitrary<{ text: string | null; parsed: unknown }> => {
  const json = (value: unknown) => ({ text: JSON.stringify(value), parsed: value });
  const variants: fc.WeightedArbitrary<{ text: string | null; parsed: unknown }>[] = [
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(json) },
    { weight: 1, arbitrary: fc.constantFrom("", "{", "[1,", "null", "\u0000", '{"a":1}}').map((text) => ({ text, parsed: undefined })) },
    { weight: 1, arbitrary: fc.constant({ text: null, parsed: undefined }) },
  ];
  if (shape.bodySchema) {
    variants.push({ weight: 8, arbitrary: mutatedRecord(shape.bodySchema.properties ?? {}, shape.bodySchema.required ?? [], words).map(json) });
  }
  return fc.oneof(...variants);
};

/** Requests to one route: its own method most of the time, sometimes one it does not allow. */
export function requestsTo(shape: RouteShape, words: Vocabulary = []): fc.Arbitrary<FuzzRequest> {
  const pathValue = (name: string) =>
    fc.oneof({ weight: 3, arbitrary: plausible(shape.paramSchemas[name], words).map(String) }, { weight: 2, arbitrary: hostileText });
  const pathValues = fc.record(Object.fromEntries(shape.pathParams.map((name) => [name, pathValue(name)])));
  const query = mutatedRecord(shape.querySchemas, [], words).map((record) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
  );
  return fc
    .record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(shape.method) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH") }),
      pathValues,
      query,
      identity: fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom<Identity>("none", "malformed", "unknown-key") },
        { weight: 4, arbitrary: fc.constantFrom<Identity>("user", "admin") },
      ),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant<string | null>("application/json") },
        { weight: 1, arbitrary: fc.constantFrom<string | null>(null, "text/plain", "application/json; charset=utf-8", "application/x-www-form-urlencoded") },
      ),
      body: bodyOf(shape, words),
    })
    .map(({ method, pathValues, query, identity, contentType, body }) => ({
      route: `${shape.method} ${shape.pattern}`,
      method,
      path: shape.pattern.replace(PATH_PARAM, (_match, name: string) => encodeURIComponent(pathValues[name]!)),
      query,
      identity,
      contentType: method === "GET" || body.text === null ? null : contentType,
      body: method === "GET" ? null : body.text,
      parsedBody: method === "GET" ? undefined : body.parsed,
      pathValues,
    }));
}
