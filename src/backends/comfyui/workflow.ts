/**
 * ComfyUI workflows: the templates shipped in the repo, the map that says where our inputs go in
 * a graph, and the patching that turns a template plus a generation spec into the API-format
 * prompt ComfyUI runs. A user's own box runs its own graphs, so nothing here hard-codes node ids
 * beyond the defaults of the shipped templates.
 *
 * API format: https://docs.comfy.org/development/comfyui-server/comms_routes (node id →
 * `{class_type, inputs}`; an input is a literal or a link `[node id, output slot]`).
 */
import { z } from "zod";
// Static imports: wrangler and the vitest plugin bundle JSON, so the templates exist in workerd
// without any file access at run time.
import fluxSchnellCheckpoint from "../workflows/flux-schnell-checkpoint.json";
import fluxSchnellImg2img from "../workflows/flux-schnell-img2img.json";
import smokeEmptyImage from "../workflows/smoke-empty-image.json";

export interface WorkflowNode {
  readonly class_type: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly _meta?: { readonly title?: string };
}

/** An API-format workflow: node id → node. */
export type ApiWorkflow = Readonly<Record<string, WorkflowNode>>;

export const apiWorkflowSchema = z
  .record(
    z.string().min(1).max(64),
    z.looseObject({
      class_type: z.string().min(1).max(200),
      inputs: z.record(z.string(), z.unknown()),
    }),
  )
  .refine((workflow) => Object.keys(workflow).length > 0, "a workflow needs at least one node");

/** Where one of our values goes: a literal input of one node. */
export interface InputTarget {
  readonly node: string;
  readonly input: string;
}

/** `image`: where the name of an edit's uploaded input goes (a LoadImage node's `image`). */
export const INPUT_NAMES = ["prompt", "negative", "seed", "steps", "width", "height", "batch_size", "image"] as const;
export type InputName = (typeof INPUT_NAMES)[number];

/** Width and height always have a place; the others may be absent from a workflow (`false`). */
export type InputMap = { readonly width: InputTarget; readonly height: InputTarget } & {
  readonly [K in Exclude<InputName, "width" | "height">]: InputTarget | false;
};

export interface WorkflowTemplate {
  readonly workflow: ApiWorkflow;
  readonly inputs: InputMap;
}

/** FLUX.1 schnell fp8 checkpoint graph from ComfyUI_examples (nodes 30, 6, 33, 27, 31, 8, 9). */
const FLUX_SCHNELL_INPUTS: InputMap = {
  prompt: { node: "6", input: "text" },
  negative: { node: "33", input: "text" },
  seed: { node: "31", input: "seed" },
  steps: { node: "31", input: "steps" },
  width: { node: "27", input: "width" },
  height: { node: "27", input: "height" },
  batch_size: { node: "27", input: "batch_size" },
  image: false,
};

const TEMPLATES = {
  "flux-schnell-checkpoint": { workflow: fluxSchnellCheckpoint, inputs: FLUX_SCHNELL_INPUTS },
  /**
   * Image-to-image on the same checkpoint: the uploaded input (LoadImage 10) scaled and
   * centre-cropped to the requested size (ImageScale 11), encoded (VAEEncode 12), repeated for
   * n images (RepeatLatentBatch 13) and resampled from there with denoise 0.75 (KSampler 31), so
   * the result keeps the input's layout. Edits only: it has no empty latent to start from.
   */
  "flux-schnell-img2img": {
    workflow: fluxSchnellImg2img,
    inputs: {
      ...FLUX_SCHNELL_INPUTS,
      width: { node: "11", input: "width" },
      height: { node: "11", input: "height" },
      batch_size: { node: "13", input: "amount" },
      image: { node: "10", input: "image" },
    },
  },
  /**
   * Weights-free: EmptyImage → SaveImage makes a real PNG with no model loaded, to check the
   * tunnel, Access and the queue end to end. It has no prompt, seed or steps.
   */
  "smoke-empty-image": {
    workflow: smokeEmptyImage,
    inputs: {
      prompt: false,
      negative: false,
      seed: false,
      steps: false,
      width: { node: "1", input: "width" },
      height: { node: "1", input: "height" },
      batch_size: { node: "1", input: "batch_size" },
      image: false,
    },
  },
} as const satisfies Record<string, WorkflowTemplate>;

export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as [TemplateName, ...TemplateName[]];
export const DEFAULT_TEMPLATE: TemplateName = "flux-schnell-checkpoint";

export interface InputMapIssue {
  /** Path below the instance config, e.g. `["inputs", "prompt", "node"]`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * The template and input map an instance runs: a named template brings its own map; an inline
 * workflow starts from the default template's map. Fields the config names override either.
 */
export function resolveWorkflow(workflow: TemplateName | ApiWorkflow, overrides: Partial<Record<InputName, InputTarget | false>>): WorkflowTemplate {
  const base = typeof workflow === "string" ? TEMPLATES[workflow] : { workflow, inputs: FLUX_SCHNELL_INPUTS };
  const inputs = { ...base.inputs } as Record<InputName, InputTarget | false>;
  for (const name of INPUT_NAMES) {
    const override = overrides[name];
    if (override !== undefined) inputs[name] = override;
  }
  return { workflow: base.workflow, inputs: inputs as InputMap };
}

/** Every mapped input must name an existing node and one of its literal (unlinked) inputs. */
export function checkInputMap(template: WorkflowTemplate): InputMapIssue[] {
  const issues: InputMapIssue[] = [];
  for (const name of INPUT_NAMES) {
    const target = template.inputs[name];
    if (target === false) {
      if (name === "width" || name === "height") {
        issues.push({ path: ["inputs", name], message: `${name} must point at a node input` });
      }
      continue;
    }
    const node = template.workflow[target.node];
    if (!node) {
      issues.push({
        path: ["inputs", name, "node"],
        message: `node "${target.node}" is not in the workflow (nodes: ${Object.keys(template.workflow).join(", ")})`,
      });
      continue;
    }
    if (!(target.input in node.inputs)) {
      issues.push({
        path: ["inputs", name, "input"],
        message: `node "${target.node}" (${node.class_type}) has no input "${target.input}" (inputs: ${Object.keys(node.inputs).join(", ")})`,
      });
      continue;
    }
    if (isLink(node.inputs[target.input])) {
      issues.push({
        path: ["inputs", name, "input"],
        message: `input "${target.input}" of node "${target.node}" is a link to another node; map a literal input instead`,
      });
    }
  }
  return issues;
}

export interface PatchValues {
  readonly prompt: string;
  readonly negative?: string;
  readonly seed: number;
  readonly steps?: number;
  readonly width: number;
  readonly height: number;
  readonly batchSize: number;
  /** An edit's input as LoadImage names it (`subfolder/name` from `/upload/image`). */
  readonly image?: string;
}

/**
 * A fresh copy of the workflow with our values in place. Values are inserted as they are: the
 * seed stays a JSON number (exact up to 2^53-1) and is never run through float arithmetic.
 */
export function patchWorkflow(template: WorkflowTemplate, values: PatchValues): Record<string, WorkflowNode> {
  const workflow = structuredClone(template.workflow) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  const set = (target: InputTarget | false, value: unknown) => {
    if (target === false || value === undefined) return;
    workflow[target.node]!.inputs[target.input] = value;
  };
  set(template.inputs.prompt, values.prompt);
  // An absent negative clears the template's own, so one request's negative never leaks into the next.
  set(template.inputs.negative, values.negative ?? "");
  set(template.inputs.seed, values.seed);
  set(template.inputs.steps, values.steps);
  set(template.inputs.width, values.width);
  set(template.inputs.height, values.height);
  set(template.inputs.batch_size, values.batchSize);
  set(template.inputs.image, values.image);
  return workflow;
}

/** Loader nodes whose file name is the model users should see in usage records. */
const MODEL_LOADERS: Readonly<Record<string, string>> = {
  CheckpointLoaderSimple: "ckpt_name",
  UNETLoader: "unet_name",
};

/** The model file the workflow loads (first checkpoint / diffusion-model loader), if any. */
export function modelOf(workflow: ApiWorkflow): string | undefined {
  for (const id of sortedNodeIds(workflow)) {
    const node = workflow[id]!;
    const input = MODEL_LOADERS[node.class_type];
    const value = input ? node.inputs[input] : undefined;
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

/** The step count the template itself carries at the mapped steps input (4 for FLUX schnell). */
export function templateSteps(template: WorkflowTemplate): number | undefined {
  const target = template.inputs.steps;
  if (target === false) return undefined;
  const value = template.workflow[target.node]?.inputs[target.input];
  return typeof value === "number" ? value : undefined;
}

/** Node ids in numeric order when they are numbers (ComfyUI's own ids), else lexical. */
export function sortedNodeIds(workflow: ApiWorkflow): string[] {
  return Object.keys(workflow).sort((a, b) => {
    const na = Number(a),
      nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
  });
}

function isLink(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "number";
}
