/**
 * Progress of one ComfyUI job for whoever waits on it (the async job mechanism): queue position
 * from GET /queue on every poll, and sampler steps from ComfyUI's websocket (`progress` frames)
 * when the transport can upgrade. The socket is advisory: frames are not replayed after a
 * reconnect, so /history stays the source of truth for the result.
 */
import type { QueueState } from "./protocol";

export interface ComfyProgress {
  readonly state: "queued" | "running";
  /** Jobs that run before ours while it waits (0 = next). */
  readonly queuePosition?: number;
  /** Sampler step and total, when the progress websocket is connected. */
  readonly step?: number;
  readonly steps?: number;
}

export type ProgressListener = (progress: ComfyProgress) => void;

export class ProgressReporter {
  private last = "";
  private lastState: ComfyProgress["state"] | undefined;
  private socket: WebSocket | null = null;

  constructor(private readonly listener: ProgressListener | undefined) {}

  get wanted(): boolean {
    return this.listener !== undefined;
  }

  fromQueue(state: QueueState): void {
    if (state.state === "pending") this.emit({ state: "queued", queuePosition: state.ahead });
    // A running job's steps come from the socket; without one, "running" is all we know.
    else if (state.state === "running" && this.lastState !== "running") this.emit({ state: "running" });
  }

  /** Listen to ComfyUI's `/ws` frames for this prompt. */
  attach(socket: WebSocket, promptId: () => string): void {
    this.socket = socket;
    // The feed is advisory: a box that restarts or a tunnel that drops only ends it.
    socket.addEventListener("error", () => this.close());
    socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return; // binary frames are preview images
      let frame: unknown;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!isFrame(frame) || frame.data.prompt_id !== promptId()) return;
      if (frame.type === "progress" && typeof frame.data.value === "number" && typeof frame.data.max === "number") {
        this.emit({ state: "running", step: frame.data.value, steps: frame.data.max });
      } else if (frame.type === "execution_start") {
        this.emit({ state: "running" });
      }
    });
  }

  close(): void {
    try {
      this.socket?.close(1000, "done");
    } catch {
      // Already closed by the other side.
    }
    this.socket = null;
  }

  private emit(progress: ComfyProgress): void {
    const key = JSON.stringify(progress);
    if (key === this.last || !this.listener) return;
    this.last = key;
    this.lastState = progress.state;
    try {
      this.listener(progress);
    } catch {
      // A listener's bug must not fail the generation it watches.
    }
  }
}

function isFrame(value: unknown): value is { type: string; data: { prompt_id?: unknown; value?: unknown; max?: unknown } } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string" &&
    typeof (value as { data?: unknown }).data === "object" &&
    (value as { data?: unknown }).data !== null
  );
}
