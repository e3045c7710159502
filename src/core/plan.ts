/**
 * Step 1 of the pipeline: turn a request into a plan — which backends to try, the styled prompt,
 * size, seed and steps — or reject it before anything is spent or written.
 */
import type { Backend, GenerationSpec } from "../backends/backend";
import type { ImagenConfig } from "../config/schema";
import { resolveChain } from "../config/resolve-chain";
import { ownEntry } from "../lib/lookup";
import type { FallbackTrigger } from "../backends/fallback-triggers";
import { DEFAULT_SIZE, withinBounds, type Size } from "../lib/size";
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
  const resolved = resolveChain(config, named);
  if (!resolved) {
    throw new InvalidRequestError(
      "backend",
      `unknown backend "${named}"; configured: ${[...Object.keys(config.backends), ...Object.keys(config.chains)].join(", ")}`,
    );
  }
  const chain = { ...resolved, backends: membersFor(request, named, resolved.backends, config, backend) };
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
  const size = request.size ?? editSize(request, backend(first)) ?? style?.size ?? backend(first).defaultSize ?? DEFAULT_SIZE;
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
    ...(request.references !== undefined && request.references.length > 0 && { references: request.references }),
    ...(request.mask !== undefined && { mask: request.mask }),
    ...(request.inputFidelity !== undefined && request.references?.length && { inputFidelity: request.inputFidelity }),
  };
  return { chain: chain.backends, fallbackOn: chain.fallbackOn, spec, style: request.style ?? null };
}

/**
 * An edit that names no size keeps its first input's shape (a 768×512 photo comes back 768×512,
 * not square): that size within the common bounds, then the nearest the first backend makes.
 */
function editSize(request: GenerationRequest, first: Backend): Size | undefined {
  const input = request.references?.[0];
  // An estimate counts its inputs without reading them: their size is unknown (0), so it prices the default.
  if (!input || input.width <= 0 || input.height <= 0) return undefined;
  const bounded = withinBounds(input);
  return first.fitSize?.(bounded) ?? bounded;
}

/**
 * The chain members that can serve this request: all of them for a text prompt; for an edit only
 * those that edit with this many reference images (and a mask, when one is sent), so a fallback
 * never lands on a backend that would ignore the inputs. None → 400 naming the ones that can.
 */
function membersFor(
  request: GenerationRequest,
  named: string,
  members: readonly string[],
  config: ImagenConfig,
  backend: (name: string) => Backend,
): readonly string[] {
  const references = request.references ?? [];
  if (references.length === 0) return members;
  const need = { images: references.length, mask: request.mask !== undefined };
  const capable = members.filter((member) => canEdit(backend(member), need));
  if (capable.length > 0) return capable;
  const editors = Object.keys(config.backends).filter((name) => canEdit(backend(name), need));
  const chains = Object.keys(config.chains).filter((name) => resolveChain(config, name)!.backends.some((member) => editors.includes(member)));
  const what = `${need.images} reference image${need.images === 1 ? "" : "s"}${need.mask ? " and a mask" : ""}`;
  const can = editors.length === 0 ? "no configured backend can" : `backends that can: ${[...editors, ...chains].join(", ")}`;
  throw new InvalidRequestError("backend", `"${named}" cannot edit images with ${what}; ${can}`);
}

/** Whether an instance takes an edit with this many reference images (and a mask). */
function canEdit(instance: Backend, need: { readonly images: number; readonly mask: boolean }): boolean {
  const edits = instance.edits;
  return edits !== undefined && need.images <= edits.maxImages && (!need.mask || edits.mask);
}
