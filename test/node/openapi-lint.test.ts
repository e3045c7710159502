import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/postgres";
import { CLI_TEST_CONFIG } from "./cli/test-config";
import { type RunningWorker, startWorker } from "./helpers/worker";

const REDOCLY = join(REPO_ROOT, "node_modules", ".bin", "redocly");

describe("the served /openapi.json", () => {
  let worker: RunningWorker;
  let dir: string;
  beforeAll(async () => {
    worker = await startWorker({ config: CLI_TEST_CONFIG });
    dir = await mkdtemp(join(tmpdir(), "openapi-"));
  });
  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("declares this deployment as its server and names every operation", async () => {
    const document = (await (await fetch(`${worker.url}/openapi.json`)).json()) as {
      servers: unknown;
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(document.servers).toEqual([{ url: worker.url, description: "This deployment" }]);
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    expect(operations.length).toBeGreaterThan(10);
    expect(operations.filter((operation) => !operation.operationId)).toEqual([]);
  });

  it("passes `redocly lint` (recommended rules, operationId required) without errors", async () => {
    const file = join(dir, "openapi.json");
    await writeFile(file, await (await fetch(`${worker.url}/openapi.json`)).text());
    const run = await promisify(execFile)(REDOCLY, ["lint", file, "--config", join(REPO_ROOT, "redocly.yaml"), "--format", "json"], { cwd: REPO_ROOT })
      .then(({ stdout }) => ({ code: 0, stdout }))
      .catch((error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }));
    const report = JSON.parse(run.stdout) as { totals: { errors: number }; problems: { ruleId: string; severity: string; message: string }[] };
    expect(report.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(run.code).toBe(0);
  });
});
