/**
 * The Worker as the `workers` test project runs it: the shipped entry, except that the JOBS
 * binding's class is a subclass whose usage sink, clock and env a test may set per job (see
 * test/helpers/jobs.ts), and the GUARDS binding's class one whose clock a test may set (see
 * ./seamed-caller-guard.ts). The production classes have no such seams; this file is never deployed.
 */
export * from "../../src/index";
export { default } from "../../src/index";
export { SeamedGenerationJob as GenerationJob } from "./seamed-generation-job";
export { SeamedCallerGuard as CallerGuard } from "./seamed-caller-guard";
