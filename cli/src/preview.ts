/**
 * The tmux preview after a successful generate: a background window `img:<slug>` running
 * `tmux-img --hold <path>`, so the generating pane keeps focus. Resolution, later wins:
 * config `output.preview` → IMAGEN_PREVIEW → --preview/--no-preview. `auto` previews when stdout
 * is a terminal and $TMUX is set; `on` always (and complains outside tmux); `off` never.
 * A failed preview is a warning: the image is already written.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { slugify } from "../../src/storage/naming.js";
import { PREVIEW_MODES, type PreviewMode } from "./settings.js";
import type { Terminal } from "./terminal.js";

export function resolvePreviewMode(configured: PreviewMode, env: NodeJS.ProcessEnv, flag: boolean | undefined): { mode: PreviewMode; warning?: string } {
  let mode = configured;
  let warning: string | undefined;
  const fromEnv = env.IMAGEN_PREVIEW?.trim().toLowerCase();
  if (fromEnv) {
    if ((PREVIEW_MODES as readonly string[]).includes(fromEnv)) mode = fromEnv as PreviewMode;
    else warning = `ignoring IMAGEN_PREVIEW=${env.IMAGEN_PREVIEW}: use auto, on or off`;
  }
  if (flag !== undefined) mode = flag ? "on" : "off";
  return { mode, ...(warning && { warning }) };
}

export type PreviewDecision = { readonly show: true } | { readonly show: false; readonly warning?: string };

export function decidePreview(mode: PreviewMode, terminal: Terminal): PreviewDecision {
  const inTmux = Boolean(terminal.env.TMUX);
  switch (mode) {
    case "off":
      return { show: false };
    case "auto":
      return { show: terminal.stdoutIsTty && inTmux };
    case "on":
      return inTmux ? { show: true } : { show: false, warning: "preview skipped: not inside a tmux session ($TMUX is not set)" };
  }
}

/** The preview runs `tmux-img` in a new window; without it the window would die at once, unseen. */
export const PREVIEW_TOOL = "tmux-img";

/** Whether `command` is an executable file on $PATH, as the shell in the new window would find it. */
export function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => {
    if (dir === "") return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Opens the window; resolves with a warning instead of throwing. */
export function openPreview(path: string, prompt: string): Promise<string | undefined> {
  const args = ["new-window", "-d", "-n", `img:${slugify(prompt)}`, PREVIEW_TOOL, "--hold", path];
  return new Promise((resolve) => {
    const child = spawn("tmux", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => resolve(`preview skipped: cannot run tmux (${error.message})`));
    child.on("close", (code) => resolve(code === 0 ? undefined : `preview failed: tmux exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ""}`));
  });
}
