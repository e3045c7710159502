#!/usr/bin/env node
// Entry point of the `imagen` command. The TypeScript sources in cli/src are compiled to cli/dist
// (`npm run build:cli` in the repository, run by its `npm install`; `npm pack` in cli/ builds and
// packs them), so an installed `imagen` runs plain JavaScript on Node.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/src/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  console.error(`imagen: the CLI is not built yet; run \`npm run build:cli\` in ${root}`);
  process.exit(1);
}
await import(main.href);
