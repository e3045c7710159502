/**
 * Step 1 of the pipeline: turn a request into a plan — which backends to try, the styled prompt,
 * size, seed and steps — or reject it before anything is spent or written.
 */
import type { Backend, GenerationSpec } from "../backends/backend";
import type { ImagenConfig } from "../config/schema";
import { resolveChain } from "../config/resolve-chain";
import { ownEntry } from "../lib/lookup";
import type { FallbackTrigger } from "../backends/fallback-triggers";
import { DEFAULT_SIZE } from "../lib/size";
import type { IdSource } from "../lib/ids";
import { keyProblem } from "../storage/naming";
import { InvalidRequestError } from "./errors";
import type { GenerationRequest } from "./request";

export interface GenerationPlan {
  /** Instance names in the order they will be tried. */
  readonly chain: readonly string[];
  /** The failures that move the chain on to its next backend. */
  readonly fallbackOn: readonly FallbackTrigger[];
  readonly spec: GenerationSpec;
  readonly style: string | null;
}

export function planGeneration(request: GenerationRequest, config: ImagenConfig, ids: IdSource, backend: (name: string) => Backend): GenerationPlan {
  const named = request.backend ?? config.default_backend;
  const chain = resolveChain(config, named);
  if (!chain) {
    throw new InvalidRequestError(
      "backend",
      `unknown backend "${named}"; configured: ${[...Object.keys(config.backends), ...Object.keys(config.chains)].join(", ")}`,
    );
  }
  const first = chain.backends[0]!;
  const instance = ownEntry(config.backends, first)!;
  const style = request.style === undefined ? undefined : ownEntry(config.styles, request.style);
  if (request.style !== undefined && !style) {
    const known = Object.keys(config.styles);
    throw new InvalidRequestError("style", `unknown style "${request.style}"; configured: ${known.length ? known.join(", ") : "(none)"}`);
  }
  if (request.output !== undefined) {
    const problem = keyProblem(request.output);
    if (problem) throw new InvalidRequestError("output", `output key ${problem}`);
  }
  const size = request.size ?? style?.size ?? backend(first).defaultSize ?? DEFAULT_SIZE;
  const negative = request.negative ?? style?.negative;
  const steps = request.steps ?? instance.default_steps;
  const spec: GenerationSpec = {
    prompt: style ? style.template.replaceAll("{prompt}", request.prompt) : request.prompt,
    width: size.width,
    height: size.height,
    seed: request.seed && request.seed > 0 ? request.seed : ids.randomSeed(),
    n: request.n,
    ...(negative !== undefined && { negative }),
    ...(steps !== undefined && { steps }),
    ...(request.quality !== undefined && { quality: request.quality }),
    ...(request.outputFormat !== undefined && { outputFormat: request.outputFormat }),
  };
  return { chain: chain.backends, fallbackOn: chain.fallbackOn, spec, style: request.style ?? null };
}
