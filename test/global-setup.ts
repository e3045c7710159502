/**
 * Starts the fake third-party servers (real HTTP on 127.0.0.1, ephemeral ports) before the
 * workerd tests run, and hands their base URLs to the tests via `inject("fakes")`.
 * Each fake lives in test/fakes/<name>/ and exports a `start()` returning {url, close}.
 */
import type { TestProject } from "vitest/node";

export interface RunningFake {
  readonly url: string;
  close(): Promise<void>;
}

type FakeStarter = () => Promise<RunningFake>;

/** name → starter. One line per fake. */
const fakes: Record<string, FakeStarter> = {
  replicate: () => import("./fakes/replicate/server").then((m) => m.start()),
  comfyui: () => import("./fakes/comfyui/server").then((m) => m.start()),
  receiver: () => import("./fakes/receiver/server").then((m) => m.start()),
  postgrest: () => import("./fakes/postgrest/server").then((m) => m.start()),
  together: () => import("./fakes/together/server").then((m) => m.start()),
  openai: () => import("./fakes/openai/server").then((m) => m.start()),
  tunnel: () => import("./fakes/tunnel/server").then((m) => m.start()),
};

export default async function setup(project: TestProject) {
  const running: Record<string, RunningFake> = {};
  for (const [name, start] of Object.entries(fakes)) running[name] = await start();
  project.provide("fakes", Object.fromEntries(Object.entries(running).map(([n, f]) => [n, f.url])));
  return async () => {
    await Promise.all(Object.values(running).map((f) => f.close()));
  };
}
