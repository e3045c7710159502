// A small, dependency-free renderer of /openapi.json: every operation with its parameters,
// request body and responses, then the named schemas. Works offline and under the strict CSP.
const $ = (id) => document.getElementById(id);
const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

/**
 * A schema as compact TypeScript-like text, as a list of strings and links: a named schema stays a
 * reference, linked to its definition under "Schemas".
 */
function describe(schema, depth = 0) {
  if (!schema) return ["any"];
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return [el("a", { href: `#schema-${name}`, class: "type" }, name)];
  }
  if (schema.anyOf || schema.oneOf)
    return joined(
      (schema.anyOf ?? schema.oneOf).map((s) => describe(s, depth)),
      " | ",
    );
  if (schema.enum) return [schema.enum.map((v) => JSON.stringify(v)).join(" | ")];
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array") return [...describe(schema.items, depth), "[]"];
  if (type === "object" || schema.properties) {
    const props = Object.entries(schema.properties ?? {});
    if (props.length === 0) return schema.additionalProperties ? ["{ [key]: ", ...describe(schema.additionalProperties, depth), " }"] : ["object"];
    const pad = "  ".repeat(depth + 1);
    const required = new Set(schema.required ?? []);
    const lines = props.map(([name, s]) => [
      `${pad}${name}${required.has(name) ? "" : "?"}: `,
      ...describe(s, depth + 1),
      s.description ? `  // ${s.description}` : "",
    ]);
    return ["{\n", ...joined(lines, "\n"), `\n${"  ".repeat(depth)}}`];
  }
  return [type ?? "any"];
}

function joined(parts, separator) {
  return parts.flatMap((part, i) => (i === 0 ? part : [separator, ...part]));
}

function contentBlock(content) {
  return Object.entries(content ?? {}).map(([type, media]) => el("div", {}, el("code", {}, type), el("div", { class: "schema" }, describe(media.schema))));
}

function operation(path, method, op) {
  const id = op.operationId ?? `${method}-${path}`;
  const section = el("section", { class: "op", id }, el("h2", {}, el("span", { class: `method ${method}` }, method), path), el("p", {}, op.summary ?? ""));
  if (op.description) section.append(el("p", {}, op.description));
  section.append(el("p", { class: "note" }, `operationId ${id} · ${op.security?.length ? "bearer API key" : "no API key"}`));
  if (op.parameters?.length) {
    const rows = op.parameters.map((p) =>
      el(
        "tr",
        {},
        el("td", {}, el("code", {}, p.name)),
        el("td", {}, p.in),
        el("td", {}, p.required ? "yes" : "no"),
        el("td", {}, describe(p.schema)),
        el("td", {}, p.description ?? p.schema?.description ?? ""),
      ),
    );
    section.append(
      el("h3", {}, "Parameters"),
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          {},
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["name", "in", "required", "type", "description"].map((h) => el("th", { scope: "col" }, h)),
            ),
          ),
          el("tbody", {}, rows),
        ),
      ),
    );
  }
  if (op.requestBody) section.append(el("h3", {}, "Request body"), ...contentBlock(op.requestBody.content));
  section.append(el("h3", {}, "Responses"));
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    section.append(el("p", {}, el("strong", {}, status), ` ${response.description ?? ""}`), ...contentBlock(response.content));
  }
  return section;
}

async function render() {
  const doc = await (await fetch("/openapi.json")).json();
  document.title = `${doc.info.title} — API reference`;
  $("title").textContent = `${doc.info.title} ${doc.info.version} — API reference`;
  $("description").textContent = doc.info.description ?? "";
  $("servers").textContent = `Server: ${(doc.servers ?? []).map((s) => s.url).join(", ")}`;
  const toc = el("ul");
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS.filter((m) => item[m])) {
      const op = item[method];
      $("operations").append(operation(path, method, op));
      toc.append(el("li", {}, el("a", { href: `#${op.operationId}` }, `${method.toUpperCase()} ${path}`), ` — ${op.summary ?? ""}`));
    }
  }
  $("toc").append(toc);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    $("schemas").append(el("section", { id: `schema-${name}` }, el("h3", {}, name), el("div", { class: "schema" }, describe(schema))));
  }
}

render().catch((error) => $("description").append(`Could not load /openapi.json: ${error.message}`));
