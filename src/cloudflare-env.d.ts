// `env` from "cloudflare:workers" (runtime and tests) is the generated Cloudflare.Env
// (src/worker-configuration.d.ts) with what src/env.ts adds. The queue is restated because it is
// declared in both bases (untyped by wrangler, typed by us).
type ImagenWorkerEnv = import("./env").Env;
declare namespace Cloudflare {
  interface Env extends ImagenWorkerEnv {
    readonly USAGE_EVENTS: ImagenWorkerEnv["USAGE_EVENTS"];
  }
}
