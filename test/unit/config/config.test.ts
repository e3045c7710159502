import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/load";
import { testConfig } from "../../helpers/config";

function problems(config: unknown): string[] {
  try {
    parseConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("accepts the test config and fills defaults", () => {
    const config = parseConfig({ default_backend: "mock", backends: { mock: { type: "mock" } } });
    expect(config.output).toEqual({ naming: "{caller}/{date}/{time}-{id}-{seed}-{backend}.{ext}", sidecar: true });
    expect(config.styles).toEqual({});
    expect(config.backends.mock).toMatchObject({ type: "mock", latency_ms: 0, failure_rate: 0 });
  });

  it("accepts a JSON string as wrangler may pass it", () => {
    expect(parseConfig(JSON.stringify(testConfig())).default_backend).toBe("mock");
  });

  it.each([
    [{ ...testConfig(), default_backend: "ghost" }, 'default_backend: default_backend "ghost" is not one of the configured backends'],
    [{ ...testConfig(), default_backend: "constructor" }, 'default_backend: default_backend "constructor" is not one of the configured backends'],
    [testConfig({ backends: { ...testConfig().backends, mock: { type: "mock", fallback: ["constructor"] } } }), "backends.mock.fallback.0"],
    [testConfig({ backends: { mock: { type: "warp-drive" } } }), "backends.mock.type"],
    [testConfig({ backends: { mock: { type: "mock", latency_ms: -1 } } }), "backends.mock.latency_ms"],
    [testConfig({ backends: { mock: { type: "mock", fallback: ["ghost"] } } }), "backends.mock.fallback.0"],
    [testConfig({ styles: { bad: { template: "no placeholder" } } }), "styles.bad.template"],
    [testConfig({ styles: { bad: { template: "{prompt}", size: "huge" } } }), "styles.bad.size"],
    [testConfig({ output: { naming: "/abs/{slug}.{ext}" } }), "output.naming"],
    [testConfig({ output: { naming: "../{slug}.{ext}" } }), "output.naming"],
    [testConfig({ surprise: true }), "surprise"],
    [testConfig({ backends: { "Bad Name": { type: "mock" } } }), "backends.Bad Name"],
  ])("names the bad field (%#)", (config, expected) => {
    expect(problems(config).join("\n")).toContain(expected);
  });

  it("reports a missing config plainly", () => {
    expect(problems(undefined)).toEqual(["IMAGEN_CONFIG is not set"]);
    expect(problems("{not json")).toEqual(["IMAGEN_CONFIG is a string but not valid JSON"]);
  });
});
