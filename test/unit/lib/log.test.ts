/** The Worker's console logger honours LOG_LEVEL: lines below it never reach the console. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { consoleLogger, logLevelOf } from "../../../src/lib/log";

afterEach(() => vi.restoreAllMocks());

function consoleLines() {
  const lines: string[] = [];
  for (const method of ["log", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((line: string) => void lines.push(line));
  return lines;
}

describe("LOG_LEVEL", () => {
  it("is info when unset or misspelt, else the level named", () => {
    expect([undefined, "", "verbose", "INFO", "debug", "warn", "error"].map(logLevelOf)).toEqual(["info", "info", "info", "info", "debug", "warn", "error"]);
  });

  it("warn keeps warnings and errors, with their fields, and drops debug and info", () => {
    const lines = consoleLines();
    const log = consoleLogger({ service: "imagen-edge" }, "warn").child({ request_id: "r1" });
    log.debug("d");
    log.info("i");
    log.warn("w", { n: 1 });
    log.error("e");
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "warn", msg: "w", service: "imagen-edge", request_id: "r1", n: 1 }),
      expect.objectContaining({ level: "error", msg: "e", request_id: "r1" }),
    ]);
  });

  it("info, the default, drops only debug", () => {
    const lines = consoleLines();
    const log = consoleLogger({}, logLevelOf(undefined));
    log.debug("d");
    log.info("i");
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(["i"]);
  });
});
