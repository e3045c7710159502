/**
 * The node classes the fake knows and ComfyUI's prompt validation (execution.py validate_prompt /
 * validate_inputs), with the same error types, messages, details and node_errors shape.
 */
import type { ModelFolders } from "./types";

type InputSpec =
  | readonly ["INT" | "FLOAT", { readonly min?: number; readonly max?: number; readonly default?: number }?]
  | readonly ["STRING", { readonly multiline?: boolean }?]
  | readonly [readonly string[]]
  /** A link type such as MODEL, CLIP, LATENT, IMAGE. */
  | readonly [string];

export interface NodeClass {
  readonly required: Readonly<Record<string, InputSpec>>;
  readonly returns: readonly string[];
  /** Output nodes are what a prompt executes; SaveImage files are "output", PreviewImage "temp". */
  readonly output?: "output" | "temp";
  /** The linked input to follow back towards the latent / image that sets the size. */
  readonly source?: string;
  /**
   * The node's VALIDATE_INPUTS: the inputs it checks itself (their list check is skipped, as
   * ComfyUI skips it) and the check, `true` or the reason.
   */
  readonly validate?: { readonly inputs: readonly string[]; check(inputs: Readonly<Record<string, unknown>>): true | string };
}

/** The files in the box's input folder (what `/upload/image` wrote), by annotated name. */
export interface InputFolder {
  /** Names as LoadImage lists them: `name.png` or `subfolder/name.png`. */
  readonly names: readonly string[];
  /** folder_paths.exists_annotated_filepath: `name`, `sub/name` or `name [input|output|temp]`. */
  exists(annotated: string): boolean;
}

const SAMPLERS = ["euler", "euler_ancestral", "heun", "dpm_2", "dpmpp_2m", "dpmpp_sde", "dpmpp_2m_sde", "lcm", "ddim", "uni_pc"];
const SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta"];
/** ComfyUI's seed limit, 2 ** 64 - 1, which a JavaScript number rounds up to 2 ** 64. */
const MAX_SEED = 2 ** 64;
const MAX_RESOLUTION = 16384;

export const DEFAULT_MODELS: Required<ModelFolders> = {
  checkpoints: ["flux1-schnell-fp8.safetensors", "flux1-dev-fp8.safetensors"],
  diffusion_models: ["flux1-schnell.safetensors"],
  vae: ["ae.safetensors"],
  text_encoders: ["clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"],
  loras: [],
};

const UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"];

export function nodeClasses(
  models: Required<ModelFolders>,
  inputFolder: InputFolder = { names: [], exists: () => false },
): Readonly<Record<string, NodeClass>> {
  return {
    CheckpointLoaderSimple: { required: { ckpt_name: [models.checkpoints] }, returns: ["MODEL", "CLIP", "VAE"] },
    UNETLoader: {
      required: { unet_name: [models.diffusion_models], weight_dtype: [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]] },
      returns: ["MODEL"],
    },
    DualCLIPLoader: {
      required: { clip_name1: [models.text_encoders], clip_name2: [models.text_encoders], type: [["sdxl", "sd3", "flux", "hunyuan_video", "hidream"]] },
      returns: ["CLIP"],
    },
    VAELoader: { required: { vae_name: [models.vae] }, returns: ["VAE"] },
    LoraLoader: {
      required: {
        model: ["MODEL"],
        clip: ["CLIP"],
        lora_name: [models.loras],
        strength_model: ["FLOAT", { default: 1, min: -100, max: 100 }],
        strength_clip: ["FLOAT", { default: 1, min: -100, max: 100 }],
      },
      returns: ["MODEL", "CLIP"],
    },
    CLIPTextEncode: { required: { text: ["STRING", { multiline: true }], clip: ["CLIP"] }, returns: ["CONDITIONING"] },
    FluxGuidance: { required: { conditioning: ["CONDITIONING"], guidance: ["FLOAT", { default: 3.5, min: 0, max: 100 }] }, returns: ["CONDITIONING"] },
    EmptySD3LatentImage: {
      required: {
        width: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION }],
        height: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION }],
        batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
      },
      returns: ["LATENT"],
    },
    EmptyLatentImage: {
      required: {
        width: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION }],
        height: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION }],
        batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
      },
      returns: ["LATENT"],
    },
    KSampler: {
      required: {
        model: ["MODEL"],
        seed: ["INT", { default: 0, min: 0, max: MAX_SEED }],
        steps: ["INT", { default: 20, min: 1, max: 10000 }],
        cfg: ["FLOAT", { default: 8, min: 0, max: 100 }],
        sampler_name: [SAMPLERS],
        scheduler: [SCHEDULERS],
        positive: ["CONDITIONING"],
        negative: ["CONDITIONING"],
        latent_image: ["LATENT"],
        denoise: ["FLOAT", { default: 1, min: 0, max: 1 }],
      },
      returns: ["LATENT"],
      source: "latent_image",
    },
    VAEDecode: { required: { samples: ["LATENT"], vae: ["VAE"] }, returns: ["IMAGE"], source: "samples" },
    EmptyImage: {
      required: {
        width: ["INT", { default: 512, min: 1, max: MAX_RESOLUTION }],
        height: ["INT", { default: 512, min: 1, max: MAX_RESOLUTION }],
        batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
        color: ["INT", { default: 0, min: 0, max: 0xffffff }],
      },
      returns: ["IMAGE"],
    },
    // nodes.py LoadImage: the image list is the input folder; VALIDATE_INPUTS checks the file exists.
    LoadImage: {
      required: { image: [[...inputFolder.names].sort()] },
      returns: ["IMAGE", "MASK"],
      validate: {
        inputs: ["image"],
        check: (inputs) => (inputFolder.exists(String(inputs.image)) ? true : `Invalid image file: ${String(inputs.image)}`),
      },
    },
    ImageScale: {
      required: {
        image: ["IMAGE"],
        upscale_method: [UPSCALE_METHODS],
        width: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION }],
        height: ["INT", { default: 512, min: 0, max: MAX_RESOLUTION }],
        crop: [["disabled", "center"]],
      },
      returns: ["IMAGE"],
      source: "image",
    },
    VAEEncode: { required: { pixels: ["IMAGE"], vae: ["VAE"] }, returns: ["LATENT"], source: "pixels" },
    RepeatLatentBatch: { required: { samples: ["LATENT"], amount: ["INT", { default: 1, min: 1, max: 64 }] }, returns: ["LATENT"], source: "samples" },
    SaveImage: { required: { images: ["IMAGE"], filename_prefix: ["STRING", {}] }, returns: [], output: "output", source: "images" },
    PreviewImage: { required: { images: ["IMAGE"] }, returns: [], output: "temp", source: "images" },
  };
}

interface PromptNode {
  class_type: string;
  inputs: Record<string, unknown>;
}
export type Prompt = Record<string, PromptNode>;

interface ValidationError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

type NodeErrors = Record<string, { errors: ValidationError[]; dependent_outputs: string[]; class_type: string }>;

export type Validation = { ok: true; outputs: string[]; nodeErrors: NodeErrors } | { ok: false; error: ValidationError; nodeErrors: NodeErrors };

/** execution.validate_prompt: converts literal inputs in place, like ComfyUI does. */
export function validatePrompt(prompt: unknown, classes: Readonly<Record<string, NodeClass>>): Validation {
  if (typeof prompt !== "object" || prompt === null || Array.isArray(prompt)) {
    return { ok: false, error: topError("invalid_prompt", "Invalid prompt: the prompt must be an object", ""), nodeErrors: {} };
  }
  const nodes = prompt as Record<string, unknown>;
  const outputs: string[] = [];
  for (const [id, raw] of Object.entries(nodes)) {
    const node = raw as Partial<PromptNode> | null;
    if (typeof node !== "object" || node === null || typeof node.class_type !== "string") {
      return {
        ok: false,
        error: topError("invalid_prompt", "Cannot execute because a node is missing the class_type property.", `Node ID '#${id}'`),
        nodeErrors: {},
      };
    }
    const cls = classes[node.class_type];
    if (!cls) {
      return {
        ok: false,
        error: topError("invalid_prompt", `Cannot execute because node ${node.class_type} does not exist.`, `Node ID '#${id}'`),
        nodeErrors: {},
      };
    }
    if (typeof node.inputs !== "object" || node.inputs === null) node.inputs = {};
    if (cls.output) outputs.push(id);
  }
  if (outputs.length === 0) return { ok: false, error: topError("prompt_no_outputs", "Prompt has no outputs", ""), nodeErrors: {} };

  const typed = nodes as Prompt;
  const validated = new Map<string, { valid: boolean; errors: ValidationError[] }>();
  const good: string[] = [];
  const failed: { output: string; errors: ValidationError[] }[] = [];
  const nodeErrors: NodeErrors = {};
  for (const output of outputs) {
    const result = validateInputs(typed, output, classes, validated);
    if (result.valid) {
      good.push(output);
      continue;
    }
    failed.push({ output, errors: result.errors });
    for (const [nodeId, entry] of validated) {
      // Downstream nodes of a broken one are invalid without errors of their own: not reported.
      if (entry.valid || entry.errors.length === 0) continue;
      nodeErrors[nodeId] ??= { errors: entry.errors, dependent_outputs: [], class_type: typed[nodeId]!.class_type };
      nodeErrors[nodeId]!.dependent_outputs.push(output);
    }
  }
  if (good.length === 0) {
    const details = failed.flatMap((f) => f.errors.map((e) => `${e.message}: ${e.details}`)).join("\n");
    return { ok: false, error: topError("prompt_outputs_failed_validation", "Prompt outputs failed validation", details), nodeErrors };
  }
  return { ok: true, outputs: good, nodeErrors };
}

function validateInputs(
  prompt: Prompt,
  id: string,
  classes: Readonly<Record<string, NodeClass>>,
  validated: Map<string, { valid: boolean; errors: ValidationError[] }>,
): { valid: boolean; errors: ValidationError[] } {
  const known = validated.get(id);
  if (known) return known;
  const node = prompt[id]!;
  const cls = classes[node.class_type]!;
  const errors: ValidationError[] = [];
  let valid = true;
  for (const [name, spec] of Object.entries(cls.required)) {
    const config = spec as readonly unknown[];
    if (!(name in node.inputs)) {
      errors.push(inputError("required_input_missing", "Required input is missing", name, { input_name: name }));
      continue;
    }
    const value = node.inputs[name];
    const type = config[0];
    if (Array.isArray(value)) {
      if (value.length !== 2) {
        errors.push(
          inputError("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]", name, {
            input_name: name,
            input_config: config,
            received_value: value,
          }),
        );
        continue;
      }
      const [linkedId, slot] = value as [unknown, unknown];
      const linked = prompt[String(linkedId)];
      if (!linked) {
        errors.push(inputError("exception_during_inner_validation", "Exception when validating inner node", `'${String(linkedId)}'`, { input_name: name }));
        continue;
      }
      const received = classes[linked.class_type]!.returns[Number(slot)];
      if (received !== type) {
        errors.push(
          inputError("return_type_mismatch", "Return type mismatch between linked nodes", `${name}, ${received} != ${String(type)}`, {
            input_name: name,
            input_config: config,
            received_type: received,
            linked_node: value,
          }),
        );
        continue;
      }
      if (!validateInputs(prompt, String(linkedId), classes, validated).valid) valid = false;
      continue;
    }
    if (Array.isArray(type)) {
      if (!cls.validate?.inputs.includes(name) && !type.includes(value)) {
        const listInfo = type.length > 20 ? `(list of length ${type.length})` : pythonList(type as string[]);
        errors.push(
          inputError("value_not_in_list", "Value not in list", `${name}: '${String(value)}' not in ${listInfo}`, {
            input_name: name,
            input_config: type.length > 20 ? null : config,
            received_value: value,
          }),
        );
      }
      continue;
    }
    if (type === "INT" || type === "FLOAT") {
      const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
      if (!Number.isFinite(number) || (type === "INT" && typeof value === "string" && !/^-?\d+$/.test(value.trim()))) {
        errors.push(
          inputError("invalid_input_type", `Failed to convert an input value to a ${type} value`, `${name}, ${String(value)}, invalid literal`, {
            input_name: name,
            input_config: config,
            received_value: value,
          }),
        );
        continue;
      }
      const converted = type === "INT" ? Math.trunc(number) : number;
      node.inputs[name] = converted;
      const limits = (config[1] ?? {}) as { min?: number; max?: number };
      if (limits.min !== undefined && converted < limits.min) {
        errors.push(
          inputError("value_smaller_than_min", `Value ${converted} smaller than min of ${limits.min}`, name, {
            input_name: name,
            input_config: config,
            received_value: converted,
          }),
        );
      } else if (limits.max !== undefined && converted > limits.max) {
        errors.push(
          inputError("value_bigger_than_max", `Value ${converted} bigger than max of ${limits.max}`, name, {
            input_name: name,
            input_config: config,
            received_value: converted,
          }),
        );
      }
      continue;
    }
    if (type === "STRING") {
      node.inputs[name] = typeof value === "string" ? value : JSON.stringify(value);
      continue;
    }
    // A link type (MODEL, CLIP...) given as a literal.
    errors.push(
      inputError("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]", name, {
        input_name: name,
        input_config: config,
        received_value: value,
      }),
    );
  }
  // execution.py: VALIDATE_INPUTS runs after the per-input checks; a refusal names the input.
  if (cls.validate) {
    const verdict = cls.validate.check(node.inputs);
    if (verdict !== true) {
      for (const name of cls.validate.inputs) {
        errors.push(inputError("custom_validation_failed", "Custom validation failed for node", `${name} - ${verdict}`, { input_name: name }));
      }
    }
  }
  const result = { valid: valid && errors.length === 0, errors };
  validated.set(id, result);
  return result;
}

function topError(type: string, message: string, details: string): ValidationError {
  return { type, message, details, extra_info: {} };
}

function inputError(type: string, message: string, details: string, extra: Record<string, unknown>): ValidationError {
  return { type, message, details, extra_info: extra };
}

/** Python's repr of a list of strings: ['a', 'b']. */
function pythonList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item}'`).join(", ")}]`;
}
