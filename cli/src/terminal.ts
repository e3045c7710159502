/**
 * The process's streams and environment as the commands see them. Whether stdout/stderr are
 * terminals decides the preview (`auto`) and the progress bar; IMAGEN_TTY=1|0 overrides the
 * detection for wrappers (and tests) that run imagen under a pipe.
 */
export interface Terminal {
  readonly env: NodeJS.ProcessEnv;
  readonly stdoutIsTty: boolean;
  readonly stderrIsTty: boolean;
  out(text: string): void;
  err(text: string): void;
}

export function processTerminal(): Terminal {
  const forced = process.env.IMAGEN_TTY;
  const tty = (stream: NodeJS.WriteStream) => (forced === "1" ? true : forced === "0" ? false : stream.isTTY === true);
  return {
    env: process.env,
    stdoutIsTty: tty(process.stdout),
    stderrIsTty: tty(process.stderr),
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}

/** Prints a value for scripts: pretty JSON on one document. */
export function printJson(terminal: Terminal, value: unknown): void {
  terminal.out(`${JSON.stringify(value, null, 2)}\n`);
}

export function usd(amount: number | null): string {
  return amount === null ? "unknown" : `$${amount.toFixed(4)}`;
}
