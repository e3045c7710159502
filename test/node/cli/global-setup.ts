/**
 * Once per `--project cli` run: compile the CLI the way `npm install` does (`npm run build:cli`),
 * start the real Worker (test/node/helpers/worker.ts) with the test backends below, and hand its
 * URL and keys to the test files via `inject("imagenWorker")`.
 */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { startWorker } from "../helpers/worker";
import { CLI_TEST_CONFIG } from "./test-config";

export default async function setup(project: TestProject) {
  execFileSync("npm", ["run", "--silent", "build:cli"], { stdio: "inherit" });
  const worker = await startWorker({ config: CLI_TEST_CONFIG });
  const { stop, ...provided } = worker;
  project.provide("imagenWorker", provided);
  return stop;
}
