// What test/global-setup.ts provides to every test: fake server name → base URL.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    fakes: Record<string, string>;
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** test/node/cli/global-setup.ts: the running Worker the CLI tests talk to. */
    imagenWorker: {
      url: string;
      adminKey: string;
      userKey: string;
      adminCaller: string;
      userCaller: string;
    };
  }
}
