/**
 * The fallback rules without a pipeline: which failures may move a chain on, and the cooldown
 * book's admission rule, on plain numbers for the clock.
 */
import { describe, expect, it } from "vitest";
import { BackendError } from "../../../src/backends/errors";
import { CooldownBook } from "../../../src/core/cooldown";
import { fallbackTrigger } from "../../../src/core/fallback";

describe("fallback triggers", () => {
  it("classifies failures: never after the provider accepted paid work, never for a refused request", () => {
    const cases: [BackendError, boolean, string | null][] = [
      [new BackendError("not_configured", "x"), false, "unconfigured"],
      [new BackendError("auth", "x"), false, "unconfigured"],
      [new BackendError("unavailable", "connection refused"), false, "unreachable"],
      [new BackendError("unavailable", "answered 503", { httpStatus: 503 }), false, "server_error"],
      [new BackendError("rate_limited", "x"), false, "rate_limited"],
      [new BackendError("timeout", "x"), false, "timeout"],
      [new BackendError("unavailable", "answered 500 after the create", { ambiguous: true, httpStatus: 500 }), false, null],
      [new BackendError("timeout", "the job ran out of time"), true, null],
      [new BackendError("invalid_request", "x"), false, null],
      [new BackendError("canceled", "x"), false, null],
    ];
    expect(cases.map(([error, accepted]) => fallbackTrigger(error, accepted))).toEqual(cases.map(([, , trigger]) => trigger));
  });
});

describe("the cooldown book", () => {
  it("lets exactly one request through after the cooldown while the others keep skipping", () => {
    const book = new CooldownBook();
    book.unreachable("home", 0, 60_000, "home was unreachable: tunnel down");

    expect(book.admit("home", 59_999, 60_000)).toMatchObject({ admitted: false, until: 60_000 });
    expect(book.admit("home", 60_000, 60_000)).toEqual({ admitted: true });
    expect(book.admit("home", 60_001, 60_000)).toMatchObject({ admitted: false, reason: expect.stringContaining("another request is trying it") });
    book.reached("home");
    expect(book.admit("home", 60_002, 60_000)).toEqual({ admitted: true });
  });

  it("never cools down a backend configured with cooldown_s 0", () => {
    const book = new CooldownBook();
    book.unreachable("home", 0, 0, "down");
    expect(book.admit("home", 1, 0)).toEqual({ admitted: true });
  });
});
