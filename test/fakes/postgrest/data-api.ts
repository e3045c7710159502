/**
 * The Data API part of the fake PostgREST: turns a request into the SQL PostgREST would run and
 * runs it in a real Postgres (PGlite) as the request's role, in one transaction, like PostgREST:
 * `BEGIN; SET LOCAL ROLE <role>; SET LOCAL search_path ...; <statement>; COMMIT`. So constraints,
 * grants, row level security, idempotency and the SQL functions behave as they will on Supabase.
 *
 * Implemented (the subset supabase-js uses for the ledger and price store; anything else is an
 * honest 501 `FAKE501`, never an approximation):
 *  - GET  /rest/v1/<table>?select=*|a,b&<col>=<op>.<value>&order=a.desc.nullslast,b&limit=&offset=
 *         ops: eq neq gt gte lt lte is in like ilike; Accept: application/vnd.pgrst.object+json.
 *  - POST /rest/v1/<table>[?columns="a","b"][&on_conflict=a,b]  object or array body;
 *         Prefer: resolution=ignore-duplicates|merge-duplicates, return=minimal|representation.
 *  - POST /rest/v1/rpc/<fn>  named arguments in a JSON object; set-returning functions answer
 *         an array, others their value (a composite as an object); void answers 204.
 *  - max-rows (1000, as supabase/config.toml): reads and set-returning functions are cut there.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { badQuery, columnNotFound, fromPostgres, functionNotFound, invalidBody, notImplemented, notSingular, PgrstError, tableNotFound } from "./errors";

export type ApiRole = "anon" | "service_role";

export interface ApiRequest {
  /** PostgREST's max-rows: reads and set-returning functions answer at most this many rows. */
  readonly maxRows: number;
  readonly method: string;
  readonly schema: string;
  /** Path below /rest/v1/, e.g. "imagen_usage" or "rpc/imagen_usage_report". */
  readonly resource: string;
  readonly query: URLSearchParams;
  readonly prefer: ReadonlySet<string>;
  readonly accept: string;
  readonly body: unknown;
  readonly role: ApiRole;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const JSON_TYPE = { "Content-Type": "application/json; charset=utf-8" };

export async function handleDataApi(db: PGlite, req: ApiRequest): Promise<ApiResponse> {
  const [first, second, ...rest] = req.resource.split("/");
  if (!first || rest.length > 0) throw notImplemented(`the path /rest/v1/${req.resource}`);
  if (first === "rpc") {
    if (!second) throw notImplemented("/rest/v1/rpc without a function");
    if (req.method !== "POST") throw notImplemented(`${req.method} on RPC (supabase-js uses POST)`);
    return callFunction(db, req, second);
  }
  if (second !== undefined) throw notImplemented(`the path /rest/v1/${req.resource}`);
  const columns = await tableColumns(db, req.schema, first);
  if (req.method === "GET") return select(db, req, first);
  if (req.method === "POST") return insert(db, req, first, columns);
  throw notImplemented(`${req.method} on tables`);
}

/** The columns of a table or view, as PostgREST's schema cache knows them; 404 PGRST205 if none. */
async function tableColumns(db: PGlite, schema: string, table: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ name: string; type: string }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'v', 'm', 'p', 'f')
       and a.attnum > 0 and not a.attisdropped
     order by a.attnum`,
    [schema, table],
  );
  if (rows.length === 0) throw tableNotFound(schema, table);
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** Runs `body` as the request's role in one transaction; Postgres errors become PostgREST answers. */
async function asRole<T>(db: PGlite, req: ApiRequest, readOnly: boolean, body: (tx: Transaction) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      if (readOnly) await tx.exec("set transaction read only");
      await tx.exec(`set local role ${req.role}; set local search_path to ${ident(req.schema)}, public`);
      return body(tx);
    });
  } catch (error) {
    if (error instanceof PgrstError) throw error;
    // PostgREST calls a request "authenticated" when its role is not the anonymous one.
    throw fromPostgres(error, req.role !== "anon");
  }
}

async function select(db: PGlite, req: ApiRequest, table: string): Promise<ApiResponse> {
  const params: unknown[] = [];
  const where: string[] = [];
  let selectList = "*";
  let order = "";
  let limit = "";
  for (const [key, value] of req.query) {
    if (key === "select") selectList = selectColumns(value);
    else if (key === "order") order = ` order by ${orderTerms(value)}`;
    else if (key === "limit") limit += ` limit ${nonNegative(key, value)}`;
    else if (key === "offset") limit += ` offset ${nonNegative(key, value)}`;
    else where.push(filter(key, value, params));
  }
  const sql = `select coalesce(json_agg(_row), '[]'::json)::text as body from (
    select * from (
      select ${selectList} from ${ident(req.schema)}.${ident(table)} ${where.length ? `where ${where.join(" and ")}` : ""}${order}${limit}
    ) _page limit ${req.maxRows}
  ) _row`;
  const text = await asRole(db, req, true, async (tx) => (await tx.query<{ body: string }>(sql, params)).rows[0]?.body ?? "[]");
  const rows = JSON.parse(text) as unknown[];
  if (req.accept.includes("application/vnd.pgrst.object+json")) {
    if (rows.length !== 1) throw notSingular(rows.length);
    return { status: 200, headers: { ...JSON_TYPE, "Content-Range": "0-0/*" }, body: JSON.stringify(rows[0]) };
  }
  const range = rows.length ? `0-${rows.length - 1}/*` : "*/*";
  return { status: 200, headers: { ...JSON_TYPE, "Content-Range": range }, body: text };
}

function selectColumns(value: string): string {
  if (value.trim() === "*") return "*";
  return value
    .split(",")
    .map((c) => {
      const name = c.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw notImplemented(`select=${value} (only * or plain column names)`);
      return ident(name);
    })
    .join(", ");
}

function orderTerms(value: string): string {
  return value
    .split(",")
    .map((term) => {
      const [column, ...modifiers] = term.split(".");
      if (!column) throw badQuery(`"failed to parse order (${value})"`, `Unexpected order term ${term}`);
      const sql = [ident(column)];
      for (const m of modifiers) {
        if (m === "asc" || m === "desc") sql.push(m);
        else if (m === "nullsfirst") sql.push("nulls first");
        else if (m === "nullslast") sql.push("nulls last");
        else throw badQuery(`"failed to parse order (${value})"`, `unexpected "${m}"`);
      }
      return sql.join(" ");
    })
    .join(", ");
}

function nonNegative(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badQuery(`"failed to parse ${name} parameter (${value})"`, "expected a non-negative integer");
  return n;
}

const OPERATORS: Record<string, string> = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=", like: "like", ilike: "ilike" };

function filter(column: string, expression: string, params: unknown[]): string {
  const dot = expression.indexOf(".");
  const op = dot < 0 ? expression : expression.slice(0, dot);
  const value = dot < 0 ? "" : expression.slice(dot + 1);
  if (op === "not" || column === "or" || column === "and") throw notImplemented(`the filter ${column}=${expression}`);
  if (op === "is") {
    const literal = { null: "null", true: "true", false: "false", unknown: "unknown" }[value.toLowerCase()];
    if (!literal) throw badQuery(`"failed to parse filter (${expression})"`, `unexpected "${value}"`);
    return `${ident(column)} is ${literal}`;
  }
  if (op === "in") {
    const match = /^\((.*)\)$/.exec(value);
    if (!match) throw badQuery(`"failed to parse filter (${expression})"`, "expected a list in parentheses");
    params.push(match[1] === "" ? [] : match[1]!.split(",").map((v) => v.replace(/^"(.*)"$/, "$1")));
    return `${ident(column)} = any($${params.length})`;
  }
  const sqlOp = OPERATORS[op];
  if (!sqlOp) throw badQuery(`"failed to parse filter (${expression})"`, `unexpected operator "${op}"`);
  params.push(op === "like" || op === "ilike" ? value.replaceAll("*", "%") : value);
  return `${ident(column)} ${sqlOp} $${params.length}`;
}

async function insert(db: PGlite, req: ApiRequest, table: string, columns: Map<string, string>): Promise<ApiResponse> {
  const body = req.body;
  const rows = Array.isArray(body) ? body : [body];
  if (body === undefined || rows.some((r) => r === null || typeof r !== "object" || Array.isArray(r))) {
    throw invalidBody("Empty or invalid json");
  }
  if (req.prefer.has("missing=default")) throw notImplemented("Prefer: missing=default");
  const objects = rows as Record<string, unknown>[];
  // Without ?columns PostgREST takes the first object's keys and insists every object has them.
  const columnsParam = req.query.get("columns");
  const target = columnsParam ? columnsParam.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")) : Object.keys(objects[0] ?? {});
  if (!columnsParam) {
    const keys = target.slice().sort().join(",");
    if (objects.some((o) => Object.keys(o).sort().join(",") !== keys)) throw invalidBody("All object keys must match");
  }
  for (const c of target) if (!columns.has(c)) throw columnNotFound(table, c);

  const onConflict = req.query.get("on_conflict");
  const ignore = req.prefer.has("resolution=ignore-duplicates");
  const merge = req.prefer.has("resolution=merge-duplicates");
  let conflict = "";
  if (ignore || merge) {
    const conflictColumns = onConflict ? onConflict.split(",").map((c) => c.trim()) : await primaryKey(db, req.schema, table);
    for (const c of conflictColumns) if (!columns.has(c)) throw columnNotFound(table, c);
    conflict = ` on conflict (${conflictColumns.map(ident).join(", ")}) do ${
      ignore ? "nothing" : `update set ${target.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(", ")}`
    }`;
  }
  const qualified = `${ident(req.schema)}.${ident(table)}`;
  const list = target.map(ident).join(", ");
  const insertSql = target.length
    ? `insert into ${qualified} (${list}) select ${list} from json_populate_recordset(null::${qualified}, $1::json)${conflict}`
    : `insert into ${qualified} default values${conflict}`;
  const representation = req.prefer.has("return=representation");
  const sql = representation ? `with _ins as (${insertSql} returning *) select coalesce(json_agg(_ins), '[]'::json)::text as body from _ins` : insertSql;
  const text = await asRole(db, req, false, async (tx) => {
    const result = await tx.query<{ body: string }>(sql, target.length ? [JSON.stringify(objects)] : []);
    return representation ? (result.rows[0]?.body ?? "[]") : "";
  });
  const applied = [...req.prefer].filter((p) => p.startsWith("resolution=") || p.startsWith("return=")).join(", ");
  return {
    status: 201,
    headers: { ...(representation ? JSON_TYPE : {}), "Content-Range": "*/*", ...(applied ? { "Preference-Applied": applied } : {}) },
    body: text,
  };
}

async function primaryKey(db: PGlite, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `select a.attname as name from pg_index i
     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = to_regclass($1) and i.indisprimary`,
    [`${ident(schema)}.${ident(table)}`],
  );
  return rows.map((r) => r.name);
}

interface RoutineArgs {
  readonly names: string[];
  readonly types: string[];
  readonly required: number;
  readonly returnsSet: boolean;
  readonly returnsVoid: boolean;
}

async function callFunction(db: PGlite, req: ApiRequest, fn: string): Promise<ApiResponse> {
  const body = req.body ?? {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidBody("Empty or invalid json");
  const args = body as Record<string, unknown>;
  const keys = Object.keys(args);
  const candidates = await routines(db, req.schema, fn);
  // PostgREST picks the overload whose parameter names fit the JSON keys.
  const routine = candidates.find((r) => keys.every((k) => r.names.includes(k)) && r.names.slice(0, r.required).every((n) => keys.includes(n)));
  if (!routine) throw functionNotFound(req.schema, fn, keys);

  const given = routine.names.map((n, i) => [n, routine.types[i]!] as const).filter(([n]) => keys.includes(n));
  const call = `${ident(req.schema)}.${ident(fn)}(${given.map(([n]) => `${ident(n)} := _args.${ident(n)}`).join(", ")})`;
  const from = given.length ? ` from json_to_record($1::json) as _args(${given.map(([n, t]) => `${ident(n)} ${t}`).join(", ")})` : "";
  const sql = routine.returnsSet
    ? `select coalesce((select json_agg(_r) from (select * from ${call} limit ${req.maxRows}) _r), '[]'::json)::text as body${from}`
    : routine.returnsVoid
      ? `select ${call}${from}`
      : `select to_json(${call})::text as body${from}`;
  const text = await asRole(db, req, false, async (tx) => {
    const result = await tx.query<{ body: string | null }>(sql, given.length ? [JSON.stringify(args)] : []);
    return result.rows[0]?.body ?? "null";
  });
  if (routine.returnsVoid) return { status: 204, headers: {}, body: "" };
  return { status: 200, headers: JSON_TYPE, body: text };
}

async function routines(db: PGlite, schema: string, fn: string): Promise<RoutineArgs[]> {
  const { rows } = await db.query<{
    names: string[] | null;
    modes: string[] | null;
    types: string[];
    defaults: number;
    retset: boolean;
    rettype: string;
  }>(
    `select p.proargnames as names, p.proargmodes::text[] as modes,
            array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality as x(t, o) order by o) as types,
            p.pronargdefaults as defaults, p.proretset as retset, format_type(p.prorettype, null) as rettype
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = $1 and p.proname = $2`,
    [schema, fn],
  );
  return rows.map((r) => {
    const allNames = r.names ?? [];
    // With OUT/TABLE parameters, proargnames lists them too: keep the input ones (i, b, v).
    const inNames = r.modes ? allNames.filter((_, i) => ["i", "b", "v"].includes(r.modes![i]!)) : allNames.slice(0, r.types.length);
    return {
      names: inNames,
      types: r.types,
      required: r.types.length - r.defaults,
      returnsSet: r.retset,
      returnsVoid: r.rettype === "void",
    };
  });
}
