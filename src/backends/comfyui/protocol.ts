/**
 * The shapes ComfyUI's server.py answers with, as far as we read them. Loose objects: newer
 * ComfyUI versions add fields, and an unknown field must never break a generation.
 */
import { z } from "zod";

/** 200 from POST /prompt. Older servers ignore our prompt_id and make their own: theirs wins. */
export const promptAccepted = z.looseObject({
  prompt_id: z.string().min(1),
  number: z.number().optional(),
});

/** 200 from POST /upload/image: where the file now is, which is what LoadImage names. */
export const uploaded = z.looseObject({
  name: z.string().min(1),
  subfolder: z.string(),
  type: z.string(),
});

const nodeError = z.looseObject({
  type: z.string(),
  message: z.string(),
  details: z.string().optional(),
  extra_info: z
    .looseObject({
      input_name: z.string().optional(),
      received_value: z.unknown().optional(),
    })
    .optional(),
});
export type NodeError = z.infer<typeof nodeError>;

/** 400 from POST /prompt: `{error, node_errors}`; very old servers send `error` as a string. */
export const promptRejected = z.looseObject({
  error: z.union([z.string(), z.looseObject({ type: z.string(), message: z.string(), details: z.string().optional() })]),
  node_errors: z
    .union([
      z.record(z.string(), z.looseObject({ errors: z.array(nodeError), class_type: z.string().optional() })),
      // `{"error": "no prompt", "node_errors": []}` from older servers.
      z.array(z.unknown()),
    ])
    .optional(),
});
export type PromptRejected = z.infer<typeof promptRejected>;

const outputImage = z.looseObject({
  filename: z.string().min(1),
  subfolder: z.string().default(""),
  type: z.string().default("output"),
});
export type OutputImage = z.infer<typeof outputImage>;

/** One status message: `[event, data]`, e.g. `["execution_error", {node_id, exception_message, ...}]`. */
const statusMessage = z.tuple([z.string(), z.unknown()]);

const historyEntry = z.looseObject({
  outputs: z.record(z.string(), z.looseObject({ images: z.array(outputImage).optional() })).default({}),
  /** Absent on servers older than the status field; null when the executor recorded none. */
  status: z
    .looseObject({
      status_str: z.string(),
      completed: z.boolean(),
      messages: z.array(statusMessage).default([]),
    })
    .nullable()
    .optional(),
});
export type HistoryEntry = z.infer<typeof historyEntry>;

/** GET /history/{id}: `{}` until the job has finished (and for an id the server never saw). */
export const history = z.record(z.string(), historyEntry);

/** A queue item: `[number, prompt_id, prompt, extra_data, outputs_to_execute, ...]`. */
const queueItem = z.array(z.unknown()).min(2);

export const queue = z.looseObject({
  queue_running: z.array(queueItem),
  queue_pending: z.array(queueItem),
});
export type Queue = z.infer<typeof queue>;

export const executionErrorData = z.looseObject({
  node_id: z.union([z.string(), z.number()]).optional(),
  node_type: z.string().optional(),
  exception_message: z.string().optional(),
  exception_type: z.string().optional(),
});

export const systemStats = z.looseObject({
  system: z.looseObject({ comfyui_version: z.string().optional() }).optional(),
  devices: z
    .array(
      z.looseObject({
        name: z.string(),
        type: z.string().optional(),
        vram_total: z.number().optional(),
        vram_free: z.number().optional(),
      }),
    )
    .default([]),
});
export type SystemStats = z.infer<typeof systemStats>;

/** Where a prompt stands according to GET /queue. */
export type QueueState =
  | { readonly state: "running" }
  /** `ahead` = jobs that run before ours (the running one included). */
  | { readonly state: "pending"; readonly ahead: number }
  | { readonly state: "absent" };

export function queueStateOf(snapshot: Queue, promptId: string): QueueState {
  if (snapshot.queue_running.some((item) => item[1] === promptId)) return { state: "running" };
  const mine = snapshot.queue_pending.find((item) => item[1] === promptId);
  if (!mine) return { state: "absent" };
  // The pending list is a heap, not a sorted list: order by queue number, as the executor does.
  const number = typeof mine[0] === "number" ? mine[0] : Number.POSITIVE_INFINITY;
  const earlier = snapshot.queue_pending.filter((item) => typeof item[0] === "number" && item[0] < number).length;
  return { state: "pending", ahead: snapshot.queue_running.length + earlier };
}
