/**
 * The web form at / in real headless Chromium against the real Worker (in workerd): what a
 * person sees after pasting a key and pressing buttons.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { REPO_ROOT } from "./helpers/postgres";
import { type RunningWorker, startWorker } from "./helpers/worker";

/** A caller allowed $0.05 a day, and one allowed one generation an hour. */
const CAPPED = "carol";
const THROTTLED = "trent";

const FORM_CONFIG = {
  default_backend: "mock",
  output: { naming: "{caller}/{date}/{time}-{slug}-{seed}.{ext}", sidecar: true },
  backends: {
    mock: { type: "mock", model: "mock-png" },
    "mock-slow": { type: "mock", model: "mock-slow", latency_ms: 6000 },
    "mock-down": { type: "mock", model: "mock-down", failure_rate: 1, failure_kind: "unavailable" },
    "mock-flaky": { type: "mock", model: "mock-flaky", failure_rate: 1, failure_kind: "unavailable", fallback: ["mock"] },
    "flux-schnell-replicate": { type: "replicate", model: "black-forest-labs/flux-schnell", api_token_env: "REPLICATE_TOKEN_NOT_SET_IN_TESTS" },
    // Billed like a paid provider, so the spend caps below have something to refuse.
    "mock-priced": { type: "mock", model: "mock-priced", cost_per_image_usd: 0.1 },
  },
  styles: { photo: { template: "{prompt}, photo" }, poster: { template: "poster of {prompt}", size: "768x1024" } },
  guard: {
    callers: {
      [CAPPED]: { daily_usd: 0.05 },
      [THROTTLED]: { rate_limit: { requests: 1, window_seconds: 3600 } },
    },
  },
};

let worker: RunningWorker;
let browser: Browser;
const pages: Page[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  worker = await startWorker({ config: FORM_CONFIG, extraCallers: [CAPPED, THROTTLED] });
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.context().close()));
  // Anything the Content-Security-Policy blocked, and any uncaught script error, fails the test.
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

/** A fresh page whose script errors, CSP refusals and 404s (a missing favicon, say) fail the test. */
async function watchedPage(viewport = { width: 1000, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pages.push(page);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() === 404) pageErrors.push(`404 ${response.url()}`);
  });
  return page;
}

/** Whether the element is on screen in the viewport (not below the fold). */
async function inViewport(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (node) => {
    const box = node.getBoundingClientRect();
    return box.height > 0 && box.top >= 0 && box.top < window.innerHeight;
  });
}

/** A fresh browser profile on the form, with `key` pasted into the key field. */
async function openForm(key: string, viewport = { width: 1000, height: 900 }): Promise<Page> {
  const page = await watchedPage(viewport);
  await page.goto(`${worker.url}/`);
  await page.waitForSelector("html[data-ready]");
  await page.fill("#api-key", key);
  await page.click("#save-key");
  return page;
}

async function backendsLoaded(page: Page) {
  await page.waitForSelector('#backend option[value="mock"]', { state: "attached" });
}

async function generate(
  page: Page,
  fields: { prompt: string; backend?: string; style?: string; size?: string; width?: string; height?: string; seed?: string },
) {
  await backendsLoaded(page);
  await page.fill("#prompt", fields.prompt);
  if (fields.backend) await page.selectOption("#backend", fields.backend);
  if (fields.style) await page.selectOption("#style", fields.style);
  if (fields.size) await page.selectOption("#size", fields.size);
  if (fields.width) await page.fill("#width", fields.width);
  if (fields.height) await page.fill("#height", fields.height);
  if (fields.seed) await page.fill("#seed", fields.seed);
  await page.click("#submit");
}

async function text(page: Page, selector: string, pattern: RegExp): Promise<string> {
  const handle = await page.waitForFunction(
    ([s, source]) => {
      const content = document.querySelector(s!)?.textContent ?? "";
      return new RegExp(source!).test(content) ? content : false;
    },
    [selector, pattern.source],
    { timeout: 60_000 },
  );
  return (await handle.jsonValue()) as string;
}

describe("the web form", () => {
  it("generates with the mock backend and shows the image with what made it, its seed and the curl command", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "a lighthouse at dusk", size: "512x512", seed: "42" });
    const facts = await text(page, "#results .facts", /seed 42/);
    expect(facts).toMatch(/^mock · mock-png · seed 42 · \d+ ms · \$0\.0000$/);
    expect(await page.textContent("#results")).not.toContain("null");
    expect(await page.isHidden("#custom-size")).toBe(true);
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>("#results img")?.naturalWidth ?? 0) > 0);
    expect(await page.$eval("#results img", (img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([512, 512]);
    // Signed image URLs: the <img> and the download link need no key.
    expect(await page.getAttribute("#results a[download]", "href")).toMatch(new RegExp(`^${worker.url}/v1/images/.+\\?exp=\\d+&sig=`));
    const curl = await page.textContent("#results .snippets pre code");
    expect(curl).toContain(`"${worker.url}/v1/images"`);
    expect(curl).toContain('"seed":42');
    expect(curl).toContain("$IMAGEN_API_KEY");
    expect(curl).not.toContain(worker.userKey);

    await page.fill("#seed", "");
    await page.click("text=Use this seed");
    expect(await page.inputValue("#seed")).toBe("42");
    if (process.env.UPDATE_FORM_SCREENSHOT) await page.screenshot({ path: `${REPO_ROOT}docs/form.png`, fullPage: true });
  });

  it("keeps the key out of the address bar and in this browser's storage only", async () => {
    const page = await openForm(worker.userKey);
    await backendsLoaded(page);
    expect(page.url()).toBe(`${worker.url}/`);
    expect(await page.inputValue("#api-key")).toBe("");
    expect(await page.evaluate(() => localStorage.getItem("imagen.apiKey"))).toBe(worker.userKey);
  });

  it("lists backends with their status, marking the ones that cannot run", async () => {
    const page = await openForm(worker.userKey);
    await backendsLoaded(page);
    const options = await page.$$eval("#backend option", (all) => all.map((o) => [o.getAttribute("value"), o.textContent, o.dataset.status ?? null]));
    expect(options).toContainEqual(["mock", "mock — mock-png (default)", "ok"]);
    expect(options).toContainEqual([
      "flux-schnell-replicate",
      "flux-schnell-replicate — black-forest-labs/flux-schnell — unavailable: not configured (set REPLICATE_TOKEN_NOT_SET_IN_TESTS)",
      "unavailable",
    ]);
  });

  it("says Running (not Queued) once the job has started, with the elapsed time, though the backend reports no progress", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "slowly", backend: "mock-slow", size: "256x256" });
    // The mock reports no progress at all: the job's own status says it is running.
    expect(await text(page, "#progress", /^Running/)).toMatch(/^Running on mock-slow · \d+ s elapsed$/);
    await text(page, "#results .facts", /^mock-slow · mock-slow · seed \d+/);
    expect(await page.isHidden("#progress")).toBe(true);
  });

  it("on a phone, brings the status and then the result on screen and moves focus to them", async () => {
    const page = await openForm(worker.userKey, { width: 390, height: 844 });
    await generate(page, { prompt: "where did it go", backend: "mock-slow", size: "256x256" });
    await text(page, "#progress", /elapsed/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("progress");
    expect(await inViewport(page, "#progress")).toBe(true);
    await text(page, "#results .facts", /^mock-slow/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("result-title");
    expect(await inViewport(page, "#result-title")).toBe(true);
    expect(await page.textContent("#result-title")).toBe("Result");
  });

  it("offers the configured styles and generates with one", async () => {
    const page = await openForm(worker.userKey);
    await backendsLoaded(page);
    const options = await page.$$eval("#style option", (all) => all.map((o) => [o.getAttribute("value"), o.textContent]));
    expect(options).toEqual([
      ["", "none"],
      ["photo", "photo"],
      ["poster", "poster (768x1024)"],
    ]);
    await generate(page, { prompt: "a harbour", style: "poster" });
    await text(page, "#results .facts", /^mock · mock-png/);
    // The style's size applies when the request names none.
    expect(await page.$eval("#results img", (img) => [img.getAttribute("width"), img.getAttribute("height")])).toEqual(["768", "1024"]);
  });

  it("forgetting the key clears everything it showed: results, gallery, spend, backends and errors", async () => {
    const page = await openForm(worker.adminKey);
    await generate(page, { prompt: "to be forgotten", size: "256x256", seed: "9" });
    await text(page, "#results .facts", /seed 9/);
    await page.click('nav a[href="#gallery"]');
    await page.waitForSelector("#gallery-grid figure");
    await page.click("#forget-key");
    expect(await page.$$("#gallery-grid > *")).toHaveLength(0);
    expect(await page.textContent("#results")).toBe("");
    expect(await page.isHidden("#progress")).toBe(true);
    expect(await page.$$eval("#backend option", (all) => all.map((o) => o.getAttribute("value")))).toEqual([""]);
    expect(await page.evaluate(() => localStorage.getItem("imagen.apiKey"))).toBeNull();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key");

    const spendPage = await openForm(worker.adminKey);
    await spendPage.click('nav a[href="#spend"]');
    await spendPage.waitForSelector("#spend-table table");
    await spendPage.click("#forget-key");
    expect(await spendPage.$$("#spend-chart > *, #spend-table > *, #budget > *")).toHaveLength(0);
    expect(await spendPage.isHidden("#budget")).toBe(true);
  });

  it("says next to the key field when the key is unknown or revoked", async () => {
    const unknown = await openForm("imk_not_a_real_key");
    expect(await text(unknown, "#api-key-error", /./)).toBe("This API key is not known here. Check it was copied completely, or ask the operator for one.");
    expect(await unknown.getAttribute("#api-key", "aria-invalid")).toBe("true");

    const revoked = await openForm(worker.revokedKey);
    expect(await text(revoked, "#api-key-error", /./)).toBe("This API key was revoked. Ask the operator for a new one and paste it above.");
  });

  it("shows an invalid custom size next to the size field and generates nothing", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "odd size", size: "custom", width: "100", height: "4000" });
    expect(await text(page, "#size-error", /./)).toBe("width 100 is not a multiple of 8");
    expect(await page.getAttribute("#size", "aria-invalid")).toBe("true");
    expect(await page.$$("#results img")).toHaveLength(0);
  });

  it("says which backend is down and what was tried, next to the backend field", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "nobody home", backend: "mock-down", size: "256x256" });
    const message = await text(page, "#backend-error", /Backend down/);
    expect(message).toContain("mock-down (unavailable:");
    expect(message).toContain("No fallback is configured for it.");
    expect(message).toContain("Pick another backend and try again.");
    // The story of every attempt gets the form's full width, not one narrow grid column.
    const [errorWidth, formWidth] = await page.evaluate(() => [
      document.getElementById("backend-error")!.getBoundingClientRect().width,
      document.getElementById("generate-form")!.getBoundingClientRect().width,
    ]);
    expect(errorWidth / formWidth).toBeGreaterThan(0.95);
  });

  it("tells when a fallback produced the image", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "plan b", backend: "mock-flaky", size: "256x256" });
    expect(await text(page, "#results .note", /Fallback/)).toBe("Fallback: mock-flaky failed (unavailable); mock produced these.");
  });

  it("lists a new image in the gallery, loaded", async () => {
    const page = await openForm(worker.adminKey);
    await generate(page, { prompt: "for the gallery", size: "256x256", seed: "7" });
    await text(page, "#results .facts", /seed 7/);
    const key = await page.$eval("#results img", (img) => img.getAttribute("alt")!.replace("Generated image ", ""));
    await page.click('nav a[href="#gallery"]');
    const figure = `#gallery-grid figure[data-key="${key}"]`;
    await page.waitForFunction((s) => (document.querySelector<HTMLImageElement>(`${s} img`)?.naturalWidth ?? 0) > 0, figure);
    expect(await page.textContent(`${figure} figcaption`)).toContain("mock · mock-png · seed 7 · $0.0000");
    expect(await page.$eval("#gallery-grid figure", (f) => f.getAttribute("data-key"))).toBe(key);
  });

  it("edits an image from the gallery and shows the result next to its source", async () => {
    const page = await openForm(worker.userKey);
    await generate(page, { prompt: "to be edited", size: "256x256", seed: "9" });
    await text(page, "#results .facts", /seed 9/);
    const key = await page.$eval("#results img", (img) => img.getAttribute("alt")!.replace("Generated image ", ""));
    await page.click('nav a[href="#gallery"]');
    const figure = `#gallery-grid figure[data-key="${key}"]`;
    await page.click(`${figure} button.edit-image`);
    await page.waitForSelector("#edit-source:not([hidden])");
    expect(await page.isVisible("#generate")).toBe(true);
    expect(await page.getAttribute("#edit-source img", "alt")).toBe(`Source image ${key}`);
    await page.fill("#prompt", "the same, inverted");
    await page.click("#submit");
    await text(page, "#results .facts", /^mock · mock-png/);
    // The source first, then the result, both loaded.
    expect(await page.$$eval("#results figure img", (imgs) => imgs.map((img) => img.getAttribute("alt")))).toEqual([
      `Source image ${key}`,
      expect.stringMatching(/^Generated image /),
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("#results figure img")].every((img) => img.naturalWidth > 0));
    // The mock inverts its input: the result's pixels are the source's, inverted (read back from the page itself).
    // Each image is decoded before it is drawn: a loaded <img> may not be decoded yet, and drawing it then gives black.
    const [source, result] = await page.$$eval("#results figure img", async (imgs) =>
      (
        await Promise.all(
          (imgs as HTMLImageElement[]).map(async (img) => {
            await img.decode();
            return img;
          }),
        )
      ).map((img) => {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext("2d")!;
        context.drawImage(img, 0, 0);
        return [10, 100, 200].map((at) => [...context.getImageData(at, at, 1, 1).data.slice(0, 3)]);
      }),
    );
    expect(result).toEqual(source!.map((pixel) => pixel.map((channel) => 255 - channel)));
    expect(await page.textContent("#results .snippets pre code")).toContain(`"reference_images":[{"key":"${key}"}]`);
  });

  it("draws spend per day and a table with totals once the ledger has the usage", async () => {
    const page = await openForm(worker.adminKey);
    await generate(page, { prompt: "to be counted", size: "256x256" });
    await text(page, "#results .facts", /^mock/);
    await page.click('nav a[href="#spend"]');
    // Usage reaches the ledger through a queue; reload the section until this caller's own request
    // is in the table (other callers' rows fill the totals sooner).
    const spendRows = () => page.$$eval("#spend-table tbody tr", (all) => all.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent)));
    const deadline = Date.now() + 90_000;
    while (!(await spendRows()).some((cells) => cells[0] === "mock" && cells[2] === worker.adminCaller && cells[3] === "web")) {
      if (Date.now() > deadline) throw new Error("the spend table never showed this caller's request");
      await page.evaluate(() => {
        location.hash = "#generate";
        location.hash = "#spend";
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    const today = new Date().toISOString().slice(0, 10);
    // Every cost is $0 with the mock: the calls and images charts still show today's work.
    expect(await page.$$eval("#spend-chart svg", (all) => all.map((svg) => [svg.dataset.metric, svg.querySelectorAll("rect.bar").length]))).toEqual([
      ["calls", 30],
      ["images", 30],
      ["cost_usd", 30],
    ]);
    expect(await page.$eval(`#spend-chart svg[data-metric="cost_usd"] rect[data-day="${today}"] title`, (t) => t.textContent)).toBe(`${today}: $0.0000`);
    expect(await page.$eval(`#spend-chart svg[data-metric="calls"] rect[data-day="${today}"] title`, (t) => t.textContent)).toMatch(
      new RegExp(`^${today}: [1-9]\\d*$`),
    );
    expect(Number(await page.$eval(`#spend-chart svg[data-metric="images"] rect[data-day="${today}"]`, (r) => r.getAttribute("height")))).toBeGreaterThan(0);
    expect(await page.textContent("#spend-chart")).toMatch(
      /^Calls: [1-9]\d* in 30 days, at most [1-9]\d* a day.*Images: [1-9]\d* in 30 days.*Cost: \$0\.0000 in 30 days/,
    );
    const rows = await page.$$eval("#spend-table tbody tr", (all) => all.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent)));
    expect(rows).toContainEqual([
      "mock",
      "mock-png",
      worker.adminCaller,
      "web",
      expect.stringMatching(/^[1-9]\d*$/),
      "0",
      expect.stringMatching(/^[1-9]\d*$/),
      "$0.0000",
    ]);
    expect(await page.textContent("#spend-table tfoot th")).toBe("Total");
    // No caps for this caller: the budget section says so instead of drawing a gauge.
    expect(await page.textContent("#budget")).toContain("No monthly cap; ");
    expect(await page.$$("#budget meter")).toHaveLength(0);
    expect(await page.textContent("#spend-error")).toBe("");
  });

  it("works by keyboard and at phone width: every field labelled, nothing wider than the screen", async () => {
    const page = await openForm(worker.userKey, { width: 375, height: 800 });
    await backendsLoaded(page);
    const unlabelled = await page.$$eval("input, select, textarea", (all) => all.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id));
    expect(unlabelled).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.focus("#prompt");
    await page.keyboard.type("typed, not clicked");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("backend");
    await page.focus("#submit");
    await page.keyboard.press("Enter");
    await text(page, "#results .facts", /^mock · mock-png/);
  });

  it("serves the form with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${worker.url}/`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(await response.text()).not.toMatch(/<script>(?!<\/script>)/);
  });

  it("serves a favicon the page links to, allowed by the CSP", async () => {
    const page = await openForm(worker.userKey);
    await backendsLoaded(page);
    const href = await page.getAttribute('link[rel="icon"]', "href");
    const icon = await fetch(`${worker.url}${href}`);
    expect([icon.status, icon.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    expect(await icon.text()).toMatch(/^<svg /);
  });

  it("links type names in /docs to their definitions and keeps each table-of-contents entry in one column", async () => {
    const page = await watchedPage({ width: 1280, height: 800 });
    await page.goto(`${worker.url}/docs`);
    await page.waitForSelector("#listImages");
    const split = await page.$$eval("#toc li", (items) => items.filter((li) => li.getClientRects().length > 1).map((li) => li.textContent));
    expect(split).toEqual([]);
    const links = await page.$$eval("#operations a.type", (all) => all.map((a) => a.getAttribute("href")));
    expect(links).toContain("#schema-Problem");
    const dangling = await page.$$eval("#operations a.type, #schemas a.type", (all) =>
      all.map((a) => a.getAttribute("href")!).filter((href) => !document.querySelector(href)),
    );
    expect(dangling).toEqual([]);
    await page.click('#listBackends a.type[href="#schema-BackendsResponse"]');
    expect(page.url().endsWith("#schema-BackendsResponse")).toBe(true);
    expect(await inViewport(page, "#schema-BackendsResponse")).toBe(true);
    expect(await page.textContent("#schema-BackendsResponse .schema")).toContain("styles: Style[]");
  });

  it("renders the API reference at /docs from /openapi.json, offline", async () => {
    const page = await watchedPage();
    const outside: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(worker.url)) outside.push(request.url());
    });
    await page.goto(`${worker.url}/docs`);
    await page.waitForSelector("#listImages");
    expect(await page.textContent("#listImages h2")).toBe("get/v1/images");
    expect(await page.$$("#operations section.op")).toHaveLength(await page.$$eval("#toc li", (items) => items.length));
    expect(outside).toEqual([]);
  });
});

describe("the web form with rate limits and budgets", () => {
  it("says how long to wait when rate limited", async () => {
    const page = await openForm(worker.keysOf[THROTTLED]!);
    await generate(page, { prompt: "once", size: "256x256" });
    await text(page, "#results .facts", /^mock/);
    await page.click("#submit");
    const message = await text(page, "#submit-error", /Rate limited/);
    expect(message).toMatch(/^Rate limited: this API key may send 1 request\(s\) per 3600 s; retry in \d+ s\. Try again in \d+ s\.$/);
  });

  it("shows the estimate and whether it fits before submitting, and the budget gauge on the spend page", async () => {
    const page = await openForm(worker.keysOf[CAPPED]!);
    await backendsLoaded(page);
    await page.fill("#prompt", "what would this cost");
    expect(await text(page, "#estimate", /Estimate/)).toBe("Estimate: $0.0000 — fits the budget");
    await page.selectOption("#backend", "mock-priced");
    expect(await text(page, "#estimate", /\$0\.1/)).toBe("Estimate: $0.1000 — over budget");
    await page.click('nav a[href="#spend"]');
    await page.waitForSelector("#budget meter", { state: "visible" });
    expect(await page.$eval("#budget meter", (m: HTMLMeterElement) => [m.value, m.max])).toEqual([0, 0.05]);
    expect(await page.textContent("#budget label")).toBe("Budget (daily): $0.0000 of $0.0500 spent");
    expect(await page.textContent("#budget")).toContain("No monthly cap; $0.0000 spent.");
  });

  it("says when over budget and when the budget resets, and generates nothing", async () => {
    const page = await openForm(worker.keysOf[CAPPED]!);
    await generate(page, { prompt: "one too many", backend: "mock-priced", size: "256x256" });
    const message = await text(page, "#submit-error", /Over budget/);
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    const local = await page.evaluate((iso) => new Date(iso).toLocaleString(), midnight.toISOString());
    expect(message).toMatch(/^Over budget: .*daily.*\./);
    expect(message.endsWith(` The budget resets ${local}.`)).toBe(true);
    expect(await page.$$("#results img")).toHaveLength(0);
    const listed = await fetch(`${worker.url}/v1/images`, { headers: { authorization: `Bearer ${worker.keysOf[CAPPED]}` } });
    expect(((await listed.json()) as { images: unknown[] }).images).toEqual([]);
  });
});

/**
 * Screenshots for docs/screenshots (not a check): FORM_SCREENSHOTS=after npx vitest run --project
 * node test/node/web-form.test.ts -t screenshots. A backend error at a laptop's viewport; the
 * result right after pressing Generate and the spend page at a phone's; the API reference's contents.
 */
// Registered only when asked for: they write files and check nothing, so they are not tests to skip.
if (process.env.FORM_SCREENSHOTS) {
  describe("screenshots", () => {
    const shot = (name: string) => `${REPO_ROOT}docs/screenshots/form-${process.env.FORM_SCREENSHOTS}-${name}.png`;
    for (const [name, viewport] of [
      ["1280x800", { width: 1280, height: 800 }],
      ["390x844", { width: 390, height: 844 }],
    ] as const) {
      it(`at ${name}`, async () => {
        const page = await openForm(worker.adminKey, viewport);
        const phone = viewport.width < 500;
        if (!phone) {
          // A laptop: a backend's failure story next to the Backend field.
          await generate(page, { prompt: "nobody home", backend: "mock-down", size: "256x256", seed: "42" });
          await text(page, "#backend-error", /Backend down/);
          await page.screenshot({ path: shot(`backend-down-${name}`) });
          return;
        }
        // A phone: where the result lands after Generate, then the spend page.
        await generate(page, { prompt: "a lighthouse at dusk", size: "256x256", seed: "42" });
        await text(page, "#results .facts", /seed 42/);
        await page.waitForFunction(() => (document.querySelector<HTMLImageElement>("#results img")?.naturalWidth ?? 0) > 0);
        await page.screenshot({ path: shot(`generate-${name}`) });
        await page.click('nav a[href="#spend"]');
        await page.waitForSelector("#spend-table table");
        await page.screenshot({ path: shot(`spend-${name}`) });
      });
    }
    it("the API reference", async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      pages.push(page);
      await page.goto(`${worker.url}/docs`);
      await page.waitForSelector("#listImages");
      await page.screenshot({ path: shot("docs-toc-1280x800"), clip: { x: 0, y: 0, width: 1280, height: 680 } });
    });
  });
}
