/**
 * Test-side helpers for the fake Replicate (they run inside workerd, so they speak HTTP to the
 * fake and import nothing from node:*).
 */
import type { InputImageRecord } from "../input-images";
import type { DeliveryRecord, RequestRecord, Scenario } from "./control";

/** A fresh account on the fake: accounts are isolated, so each test takes its own. */
export function newToken(): string {
  return `r8_test${crypto.randomUUID().replaceAll("-", "")}`;
}

export async function setScenario(fakeUrl: string, token: string, scenario: Scenario): Promise<void> {
  const response = await fetch(`${fakeUrl}/__fake/scenario`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, ...scenario }),
  });
  if (!response.ok) throw new Error(`fake scenario refused: ${response.status} ${await response.text()}`);
}

export async function requestsOf(fakeUrl: string, token: string): Promise<RequestRecord[]> {
  return (await fetch(`${fakeUrl}/__fake/requests?token=${token}`)).json();
}

export async function webhooksOf(fakeUrl: string, token: string): Promise<DeliveryRecord[]> {
  return (await fetch(`${fakeUrl}/__fake/webhooks?token=${token}`)).json();
}

/** Every input image the account's predictions took (or failed to take), oldest first. */
export async function inputsOf(fakeUrl: string, token: string): Promise<(InputImageRecord & { prediction_id: string })[]> {
  return (await fetch(`${fakeUrl}/__fake/inputs?token=${token}`)).json();
}

export async function versionOf(fakeUrl: string, model: string): Promise<string> {
  const models: Array<{ name: string; version: string }> = await (await fetch(`${fakeUrl}/__fake/models`)).json();
  const found = models.find((m) => m.name === model);
  if (!found) throw new Error(`the fake does not know ${model}`);
  return found.version;
}

/**
 * Polls `check` (really waiting `everyMs` between tries) until it returns a value. The limit is
 * wall-clock time sized for a busy shared machine, not a try count: under load one try can take
 * hundreds of milliseconds. It stays below the test timeout so a failure names the condition.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, { withinMs = 30_000, everyMs = 10 } = {}): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** All bytes of a generated image, whether it came as bytes or as a stream. */
export async function imageBytes(image: { bytes: Uint8Array } | { stream: ReadableStream<Uint8Array> }): Promise<Uint8Array> {
  if ("bytes" in image) return image.bytes;
  return new Uint8Array(await new Response(image.stream).arrayBuffer());
}
