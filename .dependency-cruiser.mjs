/**
 * The layers of docs/architecture.md ("Layers"), checked by `npm run lint:deps`.
 *
 * Type-only imports count: a layer that names another layer's types is coupled to it just the
 * same. A rule is not broken by exempting the offending file; move the shared piece down instead
 * (into src/lib or the lowest layer that owns it).
 */
const HONO = "(^|/)node_modules/(hono|@hono/[^/]+)/";
const SPEND = "^src/(guard|spend)/";

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A module that reaches itself through its imports: split the shared piece out.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycles",
      severity: "error",
      comment:
        "Folders of src/ form a DAG (e.g. never src/core -> src/guard -> src/core): a cycle between folders means " +
        "neither is a layer. Move what both need into the lower one or into src/lib.",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "backends-below-core",
      severity: "error",
      comment: "Backends speak their provider's protocol; the runner (src/core) and the routes build on them, not the reverse.",
      from: { path: "^src/backends/" },
      to: { path: "^src/(core|handlers)/" },
    },
    {
      name: "core-without-http",
      severity: "error",
      comment: "The core runs in a request, a job's alarm or a test alike: no routes, no HTTP layer, no Hono.",
      from: { path: "^src/core/" },
      to: { path: [`^src/(handlers|http)/`, HONO] },
    },
    {
      name: "spend-without-http",
      severity: "error",
      comment: "Spend accounting (src/guard today, src/spend tomorrow) runs inside Durable Objects and jobs: no Hono, no HTTP layer.",
      from: { path: SPEND },
      to: { path: [`^src/http/`, HONO] },
    },
    {
      name: "config-below-jobs",
      severity: "error",
      comment: "The config schema is assembled from leaf schemas; jobs read the config, the config never reads jobs.",
      from: { path: "^src/config/" },
      to: { path: "^src/jobs/" },
    },
    {
      name: "storage-without-http",
      severity: "error",
      comment: "Storage is R2 and naming; rendering it over HTTP belongs to src/http and the handlers.",
      from: { path: "^src/storage/" },
      to: { path: "^src/http/" },
    },
    {
      name: "lib-is-a-leaf",
      severity: "error",
      comment: "src/lib holds primitives every layer may use, so it uses no other folder of ours.",
      from: { path: "^src/lib/" },
      to: { path: "^(src|test)/", pathNot: "^src/lib/" },
    },
    {
      name: "src-not-to-test",
      severity: "error",
      comment: "Shipped code never imports test code.",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "A module nothing imports is dead code (or a forgotten entry point: list it here).",
      from: {
        orphan: true,
        pathNot: ["\\.d\\.ts$", "^src/index\\.ts$"],
      },
      to: {},
    },
    {
      name: "src-not-to-dev-dependencies",
      severity: "error",
      comment:
        "The Worker bundles only dependencies. Type-only imports (erased at build, e.g. openai's types) are fine.",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-undeclared-packages",
      severity: "error",
      comment: "A package that package.json does not declare works only by accident of hoisting.",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing: a typo, or a file that moved.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // TypeScript 7 has no compiler API for dependency-cruiser yet; swc parses the sources (type-only
    // imports included).
    parser: "swc",
    // The Workers runtime's own modules, like node:* ones.
    builtInModules: { add: ["cloudflare:workers"] },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["workerd", "worker", "import", "types", "default"],
      mainFields: ["module", "main", "types"],
      extensions: [".ts", ".js", ".json", ".d.ts"],
    },
    progress: { type: "none" },
  },
};
