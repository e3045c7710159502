// What test/global-setup.ts provides to every test: fake server name → base URL.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    fakes: Record<string, string>;
  }
}
