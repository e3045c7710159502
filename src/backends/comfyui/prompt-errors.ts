/**
 * Turn ComfyUI's 400 answer to POST /prompt into a BackendError that names the node, its
 * class_type and the input, and says what to do. The shape is execution.py's validate_prompt:
 * `{error: {type, message, details}, node_errors: {<node>: {errors: [{type, message, details,
 * extra_info: {input_name, received_value}}], class_type}}}`.
 */
import { BackendError } from "../errors";
import type { NodeError, PromptRejected } from "./protocol";
import type { ApiWorkflow, InputMap, InputName } from "./workflow";
import { INPUT_NAMES } from "./workflow";

/** Where ComfyUI looks for the file a loader input names (folder_paths.py). */
const MODEL_FOLDERS: Readonly<Record<string, string>> = {
  ckpt_name: "checkpoints",
  unet_name: "diffusion_models",
  vae_name: "vae",
  clip_name: "text_encoders",
  clip_name1: "text_encoders",
  clip_name2: "text_encoders",
  lora_name: "loras",
  control_net_name: "controlnet",
  upscale_model_name: "upscale_models",
};

interface Problem {
  readonly nodeId: string;
  readonly classType: string;
  readonly input: string | undefined;
  readonly error: NodeError;
}

export function promptRejectionError(rejection: PromptRejected, workflow: ApiWorkflow, inputs: InputMap): BackendError {
  const problems = collectProblems(rejection, workflow);
  if (problems.length === 0) return new BackendError("failed", `ComfyUI rejected the workflow: ${describeTopError(rejection)}`);

  // Problems with the values we patched in are the caller's request (a size the model refuses,
  // too many steps): say which field, and do not blame the box. The one exception is an edit's
  // input: we uploaded it just before, so a LoadImage that cannot find it is the box's fault.
  const ours = problems
    .map((problem) => ({ problem, field: fieldFor(problem, inputs) }))
    .filter((entry): entry is { problem: Problem; field: InputName } => entry.field !== undefined && entry.field !== "image");
  if (ours.length > 0) {
    const invalidFields = ours.map(({ problem, field }) => ({
      field,
      node: problem.nodeId,
      class_type: problem.classType,
      input: problem.input ?? null,
      type: problem.error.type,
      message: problem.error.message,
    }));
    const sentences = ours.map(
      ({ problem, field }) => `${field}: ${problem.error.message} (node ${problem.nodeId} ${problem.classType}, input ${problem.input})`,
    );
    return new BackendError("invalid_request", `ComfyUI rejected ${sentences.join("; ")}`, { invalidFields });
  }

  const missingModel = problems.find(isMissingModel);
  if (missingModel) {
    const file = receivedValue(missingModel.error) ?? "(unknown file)";
    const folder = MODEL_FOLDERS[missingModel.input!] ?? "models";
    return new BackendError(
      "failed",
      `ComfyUI on the box has no model file "${file}" (node ${missingModel.nodeId} ${missingModel.classType}, input ${missingModel.input}); ` +
        `put it in ComfyUI/models/${folder}/ or change the workflow`,
    );
  }

  const sentences = problems
    .slice(0, 3)
    .map((p) => `node ${p.nodeId} (${p.classType})${p.input ? ` input ${p.input}` : ""}: ${p.error.message}${p.error.details ? ` [${p.error.details}]` : ""}`);
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
  return new BackendError("failed", `ComfyUI rejected the workflow: ${sentences.join("; ")}${more}`);
}

function collectProblems(rejection: PromptRejected, workflow: ApiWorkflow): Problem[] {
  const nodeErrors = rejection.node_errors;
  if (!nodeErrors || Array.isArray(nodeErrors)) return [];
  const problems: Problem[] = [];
  for (const [nodeId, entry] of Object.entries(nodeErrors)) {
    const classType = entry.class_type ?? workflow[nodeId]?.class_type ?? "unknown node";
    for (const error of entry.errors) problems.push({ nodeId, classType, input: inputNameOf(error), error });
  }
  return problems;
}

function fieldFor(problem: Problem, inputs: InputMap): InputName | undefined {
  return INPUT_NAMES.find((name) => {
    const target = inputs[name];
    return target !== false && target.node === problem.nodeId && target.input === problem.input;
  });
}

function isMissingModel(problem: Problem): boolean {
  return problem.error.type === "value_not_in_list" && problem.input !== undefined && problem.input in MODEL_FOLDERS;
}

/** `extra_info.input_name`, else the name before the colon in `details` ("ckpt_name: 'x' not in [...]"). */
function inputNameOf(error: NodeError): string | undefined {
  if (error.extra_info?.input_name) return error.extra_info.input_name;
  const match = /^([A-Za-z0-9_]+)/.exec(error.details ?? "");
  return match?.[1];
}

function receivedValue(error: NodeError): string | undefined {
  const value = error.extra_info?.received_value;
  if (typeof value === "string") return value;
  return /'([^']*)' not in/.exec(error.details ?? "")?.[1];
}

function describeTopError(rejection: PromptRejected): string {
  const error = rejection.error;
  if (typeof error === "string") return error;
  return error.details ? `${error.message} (${error.details})` : error.message;
}
