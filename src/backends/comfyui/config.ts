/**
 * A ComfyUI instance's configuration: where the box is (tunnel hostname or service binding), the
 * Access service token's env var names, the workflow template and where our values go in it.
 * Checked when config loads, so a map pointing at a missing node fails with the field named.
 */
import { z } from "zod";
import { baseInstanceFields, envVarName } from "../instance-base";
import {
  apiWorkflowSchema,
  checkInputMap,
  DEFAULT_TEMPLATE,
  resolveWorkflow,
  TEMPLATE_NAMES,
  type ApiWorkflow,
  type TemplateName,
  type WorkflowTemplate,
} from "./workflow";

const inputTarget = z.strictObject({ node: z.string().min(1).max(64), input: z.string().min(1).max(200) });
/** `false`: this workflow has no such input (e.g. no negative prompt). */
const optionalTarget = z.union([inputTarget, z.literal(false)]);

export const comfyuiConfigSchema = z
  .strictObject({
    type: z.literal("comfyui"),
    ...baseInstanceFields,
    /** The tunnel hostname, e.g. https://comfy.example.com. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Name of a Workers VPC service / service binding in env (an object with .fetch). */
    service_binding: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a binding name like COMFYUI_VPC")
      .optional(),
    access_client_id_env: envVarName.optional(),
    access_client_secret_env: envVarName.optional(),
    /** A template shipped in src/backends/workflows/, or an inline API-format workflow. */
    workflow: z.union([z.string(), apiWorkflowSchema]).default(DEFAULT_TEMPLATE),
    /**
     * Where prompt, negative, seed, steps, width, height, batch_size and an edit's uploaded image
     * go; defaults follow the template. An instance whose map has an `image` edits images.
     */
    inputs: z
      .strictObject({
        prompt: optionalTarget.optional(),
        negative: optionalTarget.optional(),
        seed: optionalTarget.optional(),
        steps: optionalTarget.optional(),
        width: inputTarget.optional(),
        height: inputTarget.optional(),
        batch_size: optionalTarget.optional(),
        image: optionalTarget.optional(),
      })
      .default({}),
    timeout_s: z.number().positive().max(3600).default(120),
    poll_interval_ms: z.int().min(10).max(60_000).default(500),
    /** Local power is free unless you say otherwise. */
    cost_per_image_usd: z.number().min(0).max(100).optional(),
  })
  .superRefine((config, ctx) => {
    if ((config.base_url === undefined) === (config.service_binding === undefined)) {
      ctx.addIssue({ code: "custom", path: ["base_url"], message: "set exactly one of base_url or service_binding" });
    }
    if ((config.access_client_id_env === undefined) !== (config.access_client_secret_env === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [config.access_client_id_env === undefined ? "access_client_id_env" : "access_client_secret_env"],
        message: "set both access_client_id_env and access_client_secret_env, or neither",
      });
    }
    if (typeof config.workflow === "string" && !isTemplateName(config.workflow)) {
      ctx.addIssue({
        code: "custom",
        path: ["workflow"],
        message: `no workflow template "${config.workflow}"; shipped templates: ${TEMPLATE_NAMES.join(", ")} (or give an API-format workflow object)`,
      });
      return;
    }
    for (const issue of checkInputMap(templateOf(config))) ctx.addIssue({ code: "custom", path: [...issue.path], message: issue.message });
  });

export type ComfyUIConfig = z.infer<typeof comfyuiConfigSchema>;

function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

export function templateOf(config: Pick<ComfyUIConfig, "workflow" | "inputs">): WorkflowTemplate {
  const workflow = typeof config.workflow === "string" ? (config.workflow as TemplateName) : (config.workflow as ApiWorkflow);
  return resolveWorkflow(workflow, config.inputs);
}
