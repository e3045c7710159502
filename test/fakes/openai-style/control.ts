/**
 * Steering the fake OpenAI-style image APIs (test/fakes/together, test/fakes/openai) from tests:
 * the scenario types and plain-fetch helpers, no node:* imports, so tests inside workerd use them.
 * Nothing here is part of either provider's API.
 */
import type { InputImageRecord } from "../input-images";

/** One scripted answer to the next image create on the account. */
export interface ScriptedFailure {
  /** An HTTP status answered with the provider's own error body for it (e.g. 401, 429, 500, 503). */
  readonly status?: number;
  /** Seconds, sent as `Retry-After` (429 answers). */
  readonly retry_after?: number;
  /** Read the request, then close the connection without answering (the work may have been done). */
  readonly drop?: boolean;
}

export interface Scenario {
  /** Consumed one per image create, in order; then normal behaviour resumes. */
  readonly fail_next?: readonly ScriptedFailure[];
  /** Every answer (creates and model lists) waits this long first, ms. */
  readonly delay_ms?: number;
}

/** One request the fake received; never the key. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  /** What the fake answered; null when it dropped the connection (or has not answered yet). */
  readonly status: number | null;
  /** Input images the request named and the fake took (fetched or decoded), or why it could not. */
  readonly inputs?: readonly InputImageRecord[];
}

export async function setScenario(fakeUrl: string, key: string, scenario: Scenario): Promise<void> {
  const response = await fetch(`${fakeUrl}/__fake/scenario`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key, ...scenario }),
  });
  if (!response.ok) throw new Error(`fake scenario refused: ${response.status} ${await response.text()}`);
}

export async function requestsOf(fakeUrl: string, key: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${fakeUrl}/__fake/requests?key=${encodeURIComponent(key)}`);
  return response.json();
}

/** The image creates among an account's requests. */
export function creates(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => r.method === "POST" && r.path === "/v1/images/generations");
}

/** The image edits among an account's requests (their body: the text fields, and `files` by part name with each file's size and sha256). */
export function edits(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => r.method === "POST" && r.path === "/v1/images/edits");
}

/** A fresh key (so a fresh account on the fake) in the provider's shape, made at run time. */
export function newKey(provider: "together" | "openai"): string {
  const random = crypto.randomUUID().replaceAll("-", "");
  return provider === "together" ? `tgp_v1_test${random}` : `sk-test-${random}`;
}
