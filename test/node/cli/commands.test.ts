/** `imagen backends`, `usage`, `jobs`, `keys`: what a user sees, text and --json. */
import { describe, expect, it } from "vitest";
import { runCli, runJson, worker } from "./run-cli";
import { CAPPED_CALLER } from "./test-config";

const asAdmin = () => ({ env: { IMAGEN_API_KEY: worker().adminKey } });

/** A key for a caller of its own, so the usage this file creates is not mixed with other files'. */
async function freshCaller(name: string): Promise<{ key: string; env: { IMAGEN_API_KEY: string } }> {
  const created = await runJson<{ key: string }>(["keys", "create", name], asAdmin());
  return { key: created.key, env: { IMAGEN_API_KEY: created.key } };
}

/** Usage rows reach the ledger through a queue that batches for a few seconds. */
async function untilCalls(env: Record<string, string>, calls: number): Promise<void> {
  for (let tries = 0; tries < 120; tries++) {
    const usage = await runJson<{ totals: { calls: number } }>(["usage"], { env });
    if (usage.totals.calls >= calls) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`usage never reached ${calls} calls`);
}

describe("imagen backends", () => {
  it("lists the instances with type, model, default flag and status", async () => {
    const run = await runCli(["backends"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+MODEL\s+DEFAULT\s+EDITS\s+STATUS$/);
    expect(lines).toContainEqual(expect.stringMatching(/^mock\s+mock\s+mock-png\s+yes\s+16 images \+ mask\s+ok$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^flux-schnell-replicate\s+replicate\s+black-forest-labs\/flux-schnell\s+no\s+not configured \(set REPLICATE_API_TOKEN\)$/),
    );
    // Which can edit: an instance with edits off says no; a chain says yes when a member edits.
    expect(lines).toContainEqual(expect.stringMatching(/^text-only\s+mock\s+mock-png\s+no\s+ok$/));
    expect(lines).toContainEqual(expect.stringMatching(/^edit-chain\s+chain\s+text-only>mock\s+yes\s+ok$/));
  });

  it("--json gives the service's document", async () => {
    const answer = await runJson<{ backends: { name: string; default: boolean }[] }>(["backends"]);
    expect(answer.backends.map((b) => b.name).sort()).toEqual(["flux-schnell-replicate", "mock", "mock-broken", "mock-hold", "mock-slow", "text-only"]);
    expect(answer.backends.find((b) => b.default)?.name).toBe("mock");
  });
});

describe("imagen usage", () => {
  it("prints the grouped table with totals by default, and --raw rows followed by the totals", async () => {
    const caller = await freshCaller("usage-reader");
    for (const seed of ["11", "12"]) {
      await runJson(["generate", "counted", "--backend", "mock", "--seed", seed, "--size", "64x64", "--output", "/dev/null", "--no-sidecar"], caller);
    }
    await runCli(["generate", "fails", "--backend", "mock-broken", "--size", "64x64"], caller);
    await untilCalls(caller.env, 3);

    const today = new Date().toISOString().slice(0, 10);
    const grouped = await runCli(["usage", "--since", today, "--group", "backend"], caller);
    expect(grouped.code).toBe(0);
    expect(grouped.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^BACKEND\s+CALLS\s+OK\s+FAILED\s+IMAGES\s+COST_USD$/),
      expect.stringMatching(/^mock\s+2\s+2\s+0\s+2\s+0\.0000$/),
      expect.stringMatching(/^mock-broken\s+1\s+0\s+1\s+0\s+0\.0000$/),
      expect.stringMatching(/^TOTAL\s+3\s+2\s+1\s+2\s+0\.0000$/),
    ]);

    const raw = await runCli(["usage", "--since", today, "--raw"], caller);
    expect(raw.code).toBe(0);
    const lines = raw.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CREATED\s+CALLER\s+SOURCE\s+REF\s+BACKEND\s+MODEL\s+SEED\s+SIZE\s+IMAGES\s+LATENCY_MS\s+COST_USD\s+OK\s+ERROR$/);
    expect(lines.slice(1, -1)).toHaveLength(3);
    expect(lines.slice(1, -1).every((line) => line.includes("usage-reader") && line.includes(" cli "))).toBe(true);
    expect(lines.at(-1)).toMatch(/^TOTAL\s+3 calls\s+2 ok\s+1 failed\s+2\s+0\.0000$/);

    const json = await runJson<{ rows: unknown[]; totals: { calls: number; cost_usd: number } }>(["usage", "--raw", "--since", today], caller);
    expect(json.rows).toHaveLength(3);
    expect(json.totals).toMatchObject({ calls: 3, cost_usd: 0 });

    const csv = await runCli(["usage", "--format", "csv", "--group", "backend"], caller);
    expect(csv.stdout.split("\r\n")[0]).toBe("BACKEND,CALLS,OK,FAILED,IMAGES,COST_USD");
  });

  it("refuses a malformed date before asking the service (exit 2)", async () => {
    const run = await runCli(["usage", "--since", "May 1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('imagen: --since takes a UTC date like 2026-05-01, not "May 1"\n');
  });

  it("an unknown --format is a usage error", async () => {
    const run = await runCli(["usage", "--format", "xml"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Allowed choices are table, csv, json");
  });
});

describe("imagen jobs", () => {
  it("shows a job, and --wait follows a running one to its end", async () => {
    const started = await runJson<{ job_id: string }>([
      "generate",
      "job cat",
      "--backend",
      "mock",
      "--size",
      "64x64",
      "--async",
      "--output",
      "/dev/null",
      "--no-sidecar",
    ]);
    const shown = await runCli(["jobs", started.job_id, "--wait"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(
        `^job ${started.job_id}\\n\\[#{24}\\] {2}succeeded {2}mock {2}\\d+\\.\\ds\\nhttp://127\\.0\\.0\\.1:\\d+/v1/images/\\S+\\nbackend mock \\(mock-png\\)`,
      ),
    );
  });

  it("another caller's job does not exist for you (exit 1, the service's 404)", async () => {
    const started = await runJson<{ job_id: string }>(
      ["generate", "mine", "--backend", "mock", "--size", "64x64", "--async", "--output", "/dev/null", "--no-sidecar"],
      asAdmin(),
    );
    const run = await runCli(["jobs", started.job_id]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^imagen: Not found \(HTTP 404\): no job \S+ for this caller\n/);
  });
});

describe("imagen keys", () => {
  it("an admin creates a key (printed once), lists it, revokes it; the revoked key is refused", async () => {
    const created = await runCli(["keys", "create", "bob", "--label", "laptop"], asAdmin());
    expect(created.code).toBe(0);
    expect(created.stderr).toMatch(/^created key [0-9a-f]{12} for bob \(user\); it is shown only now:\n$/);
    const key = created.stdout.trim();
    expect(key).toMatch(/^imk_[a-z2-7]{32}$/);
    const id = /created key ([0-9a-f]{12})/.exec(created.stderr)![1]!;

    const listed = await runCli(["keys", "list"], asAdmin());
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+bob\\s+user\\s+\\S+\\s+active\\s+laptop$`, "m"));
    expect(listed.stdout).not.toContain(key);

    const revoked = await runCli(["keys", "revoke", id], asAdmin());
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${id} (bob)\n` });
    const refused = await runCli(["backends"], { env: { IMAGEN_API_KEY: key } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("this API key was revoked");
  });

  it("a user key gets the service's 403 and the hint that it needs an admin key", async () => {
    const run = await runCli(["keys", "list"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^imagen: Forbidden \(HTTP 403\): this endpoint needs an admin API key\n {2}→ this needs an admin API key\n/);
  });
});

describe("imagen images", () => {
  it("lists the caller's own images, newest first, with what made them; --limit pages with a hint on stderr", async () => {
    const caller = await freshCaller("gallery-owner");
    for (const seed of ["21", "22"]) {
      await runJson(["generate", "listed", "--backend", "mock", "--seed", seed, "--size", "64x64", "--output", "/dev/null", "--no-sidecar"], caller);
    }
    const run = await runCli(["images"], caller);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^CREATED\s+KEY\s+SIZE\s+BACKEND\s+MODEL\s+SEED\s+COST_USD$/),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+\s+gallery-owner\/\S+-22\.png\s+64x64\s+mock\s+mock-png\s+22\s+0\.0000$/),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+\s+gallery-owner\/\S+-21\.png\s+64x64\s+mock\s+mock-png\s+21\s+0\.0000$/),
    ]);

    const first = await runCli(["images", "--limit", "1", "--json"], caller);
    const page = JSON.parse(first.stdout) as { images: { key: string; url: string; caller: string; seed: number }[]; next_cursor: string | null };
    expect(page.images).toHaveLength(1);
    expect(page.images[0]).toMatchObject({ caller: "gallery-owner", seed: 22 });
    expect(page.images[0]!.url).toMatch(/\?exp=\d+&sig=/);
    expect(page.next_cursor).not.toBeNull();

    const more = await runCli(["images", "--limit", "1"], caller);
    expect(more.stderr).toBe(`more: imagen images --cursor ${page.next_cursor}\n`);
    const next = await runJson<{ images: { seed: number }[] }>(["images", "--limit", "1", "--cursor", page.next_cursor!], caller);
    expect(next.images.map((i) => i.seed)).toEqual([21]);
  });
});

describe("imagen budget", () => {
  it("shows each period's cap, spend, reservations and reset; a period without a cap says so", async () => {
    const caller = await freshCaller(CAPPED_CALLER);
    const run = await runCli(["budget"], caller);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^PERIOD\s+CAP\s+SPENT\s+RESERVED\s+REMAINING\s+RESETS_AT$/),
      expect.stringMatching(/^daily\s+\$2\.0000\s+\$0\.0000\s+\$0\.0000\s+\$2\.0000\s+\d{4}-\d\d-\d\dT00:00:00/),
      expect.stringMatching(/^monthly\s+no cap\s+\$0\.0000\s+\$0\.0000\s+no cap\s+\d{4}-\d\d-01T00:00:00/),
    ]);
    const answer = await runJson<{ caller: string; daily: { cap_usd: number | null }; monthly: { cap_usd: number | null } }>(["budget"], caller);
    expect(answer).toMatchObject({ caller: CAPPED_CALLER, daily: { cap_usd: 2 }, monthly: { cap_usd: null } });
  });
});
