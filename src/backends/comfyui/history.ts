/**
 * Reading a finished ComfyUI history entry: did the job fail (and where), and how long did it run.
 * Shared by the sync path and the async job in ../comfyui.ts.
 */
import { BackendError } from "../errors";
import { executionErrorData, type HistoryEntry } from "./protocol";

/** A history entry that ended in error, as a BackendError naming the node and the exception. */
export function failureOf(entry: HistoryEntry): BackendError | undefined {
  const status = entry.status;
  // Servers older than the status field only record finished jobs; outputs decide.
  if (!status || status.status_str === "success") return undefined;
  const error = status.messages.find(([event]) => event === "execution_error");
  if (error) {
    const data = executionErrorData.safeParse(error[1]);
    const info = data.success ? data.data : {};
    const exception = [info.exception_type, info.exception_message?.trim()].filter(Boolean).join(": ").slice(0, 500);
    return new BackendError(
      "failed",
      `ComfyUI failed in node ${info.node_id ?? "?"} (${info.node_type ?? "unknown node"}): ${exception || "no exception message"}`,
    );
  }
  if (status.messages.some(([event]) => event === "execution_interrupted")) {
    return new BackendError("failed", "ComfyUI interrupted the job on the box (someone pressed cancel, or a restart)");
  }
  return new BackendError("failed", `ComfyUI reported status "${status.status_str}" without an error message`);
}

/** Execution time from the status messages' timestamps (ms), when the server records them. */
export function predictSeconds(entry: HistoryEntry): number | undefined {
  const at = (event: string) => {
    const data = entry.status?.messages.find(([name]) => name === event)?.[1] as { timestamp?: unknown } | undefined;
    return typeof data?.timestamp === "number" ? data.timestamp : undefined;
  };
  const start = at("execution_start");
  const end = at("execution_success");
  return start !== undefined && end !== undefined && end >= start ? (end - start) / 1000 : undefined;
}
