/// <reference types="vite/client" />
/**
 * Shared set-up for the pricing specs: a manual clock, a fake `fetch` that answers like the real
 * price sources (status, content type, body) from the fixture files, and the fixtures themselves.
 */
import openaiPricing from "../fixtures/pricing/portkey/openai.json?raw";
import togetherPricing from "../fixtures/pricing/portkey/together-ai.json?raw";
import fluxSchnellPage from "../fixtures/pricing/replicate/flux-schnell.html?raw";
import { jsonLogger, type Logger } from "../../src/lib/log";
import type { FetchLike } from "../../src/pricing/sources/source";
import { manualClock as baseManualClock, type ManualClock } from "./clock";

export type { ManualClock };

export const fixtures = {
  portkeyOpenai: openaiPricing,
  portkeyTogether: togetherPricing,
  replicateFluxSchnellPage: fluxSchnellPage,
};

export const PORTKEY = "https://configs.portkey.ai/pricing";
export const REPLICATE = "https://replicate.com";

/** The pricing tests' default moment. */
export function manualClock(startIso = "2026-11-23T04:00:00.000Z"): ManualClock {
  return baseManualClock(startIso);
}

export interface FakeFetch extends FetchLike {
  readonly calls: string[];
}

/**
 * Answers exact URLs; anything else is a 404, like a CDN for a file that does not exist. Each
 * call gets a fresh Response, so a route can be fetched more than once.
 */
export function fakeFetch(routes: Record<string, () => Response | Promise<Response>>): FakeFetch {
  const calls: string[] = [];
  const fn = async (input: string | URL | Request) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    const route = routes[url];
    return route ? route() : new Response("Not Found", { status: 404, headers: { "content-type": "text/plain" } });
  };
  return Object.assign(fn, { calls });
}

export const json = (body: string) => () => new Response(body, { status: 200, headers: { "content-type": "application/json" } });
export const html = (body: string) => () => new Response(body, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } });
export const status =
  (code: number, body = "") =>
  () =>
    new Response(body, { status: code, headers: { "content-type": "text/plain" } });

/** The real sources' answers, from the fixtures, unmodified. */
export function realRoutes(): Record<string, () => Response> {
  return {
    [`${PORTKEY}/openai.json`]: json(fixtures.portkeyOpenai),
    [`${PORTKEY}/together-ai.json`]: json(fixtures.portkeyTogether),
    [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(fixtures.replicateFluxSchnellPage),
    [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$0.025")),
    [`${REPLICATE}/black-forest-labs/flux-pro`]: html(replicatePage("$0.055")),
    [`${REPLICATE}/black-forest-labs/flux-1.1-pro`]: html(replicatePage("$0.04")),
    [`${REPLICATE}/black-forest-labs/flux-kontext-pro`]: html(replicatePage("$0.04")),
    [`${REPLICATE}/black-forest-labs/flux-kontext-max`]: html(replicatePage("$0.08")),
    [`${REPLICATE}/black-forest-labs/flux-kontext-dev`]: html(replicatePage("$0.025")),
  };
}

/** The flux-schnell page with another per-image price, for the other models and drift cases. */
export function replicatePage(price: string, title = "per output image"): string {
  return fixtures.replicateFluxSchnellPage.replace('"price":"$0.003"', `"price":"${price}"`).replace('"title":"per output image"', `"title":"${title}"`);
}

/** A model page shaped like the fixture whose embedded billing object is `billingConfig`. */
export function replicateBillingPage(billingConfig: unknown): string {
  const props = JSON.stringify({ model: { owner: "black-forest-labs", name: "flux-schnell" }, pricing: { billingConfig } });
  return `<!doctype html><html><body><main>model</main><script type="application/json">${props}</script></body></html>`;
}

type PortkeyFile = Record<string, { pricing_config?: { pay_as_you_go?: Record<string, unknown> } }>;

/** A copy of a Portkey file with one model's entry rewritten. */
export function editPortkey(text: string, edit: (file: PortkeyFile) => void): string {
  const file = JSON.parse(text) as PortkeyFile;
  edit(file);
  return JSON.stringify(file);
}

/** Sets a Together model's `additional_units.megapixels.price`. */
export function setMegapixelPrice(text: string, model: string, price: number): string {
  return editPortkey(text, (file) => {
    const units = file[model]?.pricing_config?.pay_as_you_go?.additional_units as { megapixels: { price: number } };
    units.megapixels.price = price;
  });
}

/** Multiplies every image and megapixel price in a Portkey file (e.g. 0.01 = cents rewritten as dollars). */
export function scaleImagePrices(text: string, factor: number): string {
  return editPortkey(text, (file) => {
    for (const entry of Object.values(file)) {
      const payg = entry.pricing_config?.pay_as_you_go;
      const image = payg?.image as Record<string, Record<string, { price: number }>> | undefined;
      for (const sizes of Object.values(image ?? {})) for (const leaf of Object.values(sizes)) leaf.price *= factor;
      const mp = (payg?.additional_units as { megapixels?: { price: number } } | undefined)?.megapixels;
      if (mp) mp.price *= factor;
    }
  });
}

export interface CapturedLogs {
  readonly log: Logger;
  readonly lines: { level: string; msg: string; [field: string]: unknown }[];
}

export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs["lines"] = [];
  return { log: jsonLogger({}, (line) => lines.push(JSON.parse(line))), lines };
}
