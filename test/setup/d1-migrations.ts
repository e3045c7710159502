// Every workerd test file starts with the ledger's D1 schema applied (idempotent). Storage is
// isolated per test file, so this runs once per file; it is a small part of a file's setup
// (0.15–0.5 s on a busy 2-core machine, against seconds for the isolate loading the Worker that
// `cloudflare:test` imports), and most files reach D1 through the app (prices, the usage queue).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.LEDGER, env.TEST_D1_MIGRATIONS);
