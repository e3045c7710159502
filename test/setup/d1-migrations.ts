// Every workerd test file starts with the ledger's D1 schema applied (idempotent).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.LEDGER, env.TEST_D1_MIGRATIONS);
