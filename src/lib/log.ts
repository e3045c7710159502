/**
 * Structured JSON logs. Callers pass fields, never prompt text or secrets: the logger has no
 * way to know what a field holds, so the rule is kept at the call sites and checked by tests.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function jsonLogger(base: LogFields = {}, write: (line: string, level: LogLevel) => void = defaultWrite): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields) =>
    write(JSON.stringify({ level, msg, time: new Date().toISOString(), ...base, ...fields }), level);
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => jsonLogger({ ...base, ...fields }, write),
  };
}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** The `LOG_LEVEL` variable as a level; unset or unknown is "info". */
export function logLevelOf(value: unknown): LogLevel {
  return LEVELS.find((level) => level === value) ?? "info";
}

/** The Worker's own logger: JSON lines on the console, those below `minimum` dropped. */
export function consoleLogger(base: LogFields, minimum: LogLevel): Logger {
  const floor = LEVELS.indexOf(minimum);
  return jsonLogger(base, (line, level) => {
    if (LEVELS.indexOf(level) >= floor) defaultWrite(line, level);
  });
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const silentLogger: Logger = jsonLogger({}, () => {});
