/**
 * A Together or OpenAI backend instance on its own account of the fake provider, driven directly
 * with a stepped clock (so 429 waits are recorded, not slept).
 */
import type { z } from "zod";
import type { AttemptContext, BackendType, GenerationSpec } from "../../src/backends/backend";
import { silentLogger } from "../../src/lib/log";
import { requestsOf, setScenario, type Scenario } from "../fakes/openai-style/control";
import { runAttempt } from "./attempt";
import { steppedClock } from "./clock";

/** `key: null` = the key's env var is not set at all. */
export async function hostedBackend<S extends z.ZodObject<{ type: z.ZodLiteral<string> }>>(
  type: BackendType<S>,
  fakeUrl: string,
  config: Record<string, unknown>,
  options: { readonly scenario?: Scenario; readonly key: string | null; readonly fetch?: typeof fetch },
) {
  const { key } = options;
  if (key) await setScenario(fakeUrl, key, options.scenario ?? {});
  const parsed = type.configSchema.parse({ type: type.type, base_url: `${fakeUrl}/v1`, ...config }) as z.infer<S> & { api_key_env: string };
  const clock = steppedClock();
  const env: Record<string, string> = key ? { [parsed.api_key_env]: key } : {};
  const send = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const backend = type.create("hosted-under-test", parsed, { env, fetch: send, clock });
  const ctx: AttemptContext = { signal: new AbortController().signal, clock, requestId: "req-test", log: silentLogger };
  return {
    backend,
    clock,
    generate: (spec: GenerationSpec) => runAttempt(backend, spec, ctx),
    requests: () => requestsOf(fakeUrl, key ?? ""),
  };
}
