/**
 * The Worker as the `workers` test project runs it: the shipped entry, except that the JOBS
 * binding's class is a subclass whose usage sink, clock and env a test may set per job (see
 * test/helpers/jobs.ts). The production class has no such method; this file is never deployed.
 */
export * from "../../src/index";
export { default } from "../../src/index";
export { SeamedGenerationJob as GenerationJob } from "./seamed-generation-job";
