// Types `env` and `exports` from "cloudflare:workers" (tests and runtime) with our own Env.
type ImagenWorkerEnv = import("./env").Env;
type ImagenMainModule = typeof import("./index");
declare namespace Cloudflare {
  interface Env extends ImagenWorkerEnv {}
  interface GlobalProps {
    mainModule: ImagenMainModule;
  }
}
