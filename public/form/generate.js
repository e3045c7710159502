// The generate form: backends, estimate and budget, an async job with visible progress, then the
// images with what made them, "use this seed", download and the request as curl / JavaScript.
// An edit (started from the gallery) sends its source as `reference_images` and shows the result
// next to it.
import { accessMessage, api, ApiProblem, el, usd } from "./api.js";

const POLL_MS = 1000;
const FIELDS = ["prompt", "backend", "style", "size", "seed", "steps", "n", "negative"];
const $ = (id) => document.getElementById(id);
/** Bumped when the key is forgotten: a job still polling for it stops and shows nothing. */
let generation = 0;
/** The gallery image being edited ({key, url, width, height}), or null. */
let editing = null;

/** Edit `image` (from the gallery): it becomes the request's reference image, shown above the prompt. */
export function startEdit(image) {
  editing = image;
  const img = el("img", { alt: `Source image ${image.key}`, src: image.url, ...(image.width && { width: image.width, height: image.height }) });
  $("edit-source-figure").replaceChildren(img, el("figcaption", {}, el("span", { class: "key" }, image.key)));
  $("edit-source").hidden = false;
  $("results").replaceChildren();
  $("prompt").focus();
}

function stopEdit() {
  editing = null;
  $("edit-source").hidden = true;
  $("edit-source-figure").replaceChildren();
}

export function setUpGenerate({ onKeyProblem, onGenerated }) {
  const form = $("generate-form");
  $("stop-editing").addEventListener("click", () => {
    stopEdit();
    $("prompt").focus();
  });
  $("size").addEventListener("change", () => {
    $("custom-size").hidden = $("size").value !== "custom";
  });
  let estimateTimer;
  form.addEventListener("input", () => {
    clearTimeout(estimateTimer);
    estimateTimer = setTimeout(() => showEstimate().catch(() => {}), 400);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const body = requestBody();
    if (!body) return;
    const mine = generation;
    // The button is disabled while the job runs: focus moves to the status line, not to <body>.
    $("submit").disabled = true;
    try {
      const outcome = await runJob(body, mine);
      if (outcome && mine === generation) {
        showResults(outcome, body);
        onGenerated();
      }
    } catch (error) {
      if (mine === generation) showProblem(error, onKeyProblem);
    } finally {
      $("submit").disabled = false;
      if (mine === generation && (document.activeElement === document.body || document.activeElement === $("progress"))) {
        $("submit").focus();
        $("submit-error").scrollIntoView({ block: "nearest" });
      }
    }
  });
}

/** The key was forgotten: the backends and styles it listed, results, progress and errors go. */
export function clearGenerate() {
  generation++;
  $("results").replaceChildren();
  $("progress").replaceChildren();
  $("progress").hidden = true;
  $("estimate").textContent = "";
  $("backend").replaceChildren(el("option", { value: "" }, "default"));
  $("style").replaceChildren(el("option", { value: "" }, "none"));
  stopEdit();
  clearErrors();
}

/** The backend and style selects, from GET /v1/backends; instances that cannot run now are marked. */
export async function loadBackends() {
  const { backends, styles } = await api("/v1/backends");
  fillStyles(styles ?? []);
  const select = $("backend");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "default"));
  for (const backend of backends) {
    const ok = backend.status === "ok" || backend.status.startsWith("ok ");
    const label = `${backend.name} — ${backend.model}${backend.default ? " (default)" : ""}${ok ? "" : ` — unavailable: ${backend.status}`}`;
    select.append(el("option", { value: backend.name, "data-status": ok ? "ok" : "unavailable", "data-edits": backend.edits ? "yes" : "no" }, label));
  }
  select.value = chosen;
}

function fillStyles(styles) {
  const select = $("style");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "none"));
  for (const style of styles) select.append(el("option", { value: style.name }, style.size ? `${style.name} (${style.size})` : style.name));
  select.value = styles.some((s) => s.name === chosen) ? chosen : "";
}

/** The JSON body for POST /v1/images, or null (after marking the field, when `report`). */
function requestBody(report = true) {
  const value = (id) => $(id).value.trim();
  const fieldError = (name, message) => (report ? markField(name, message) : null);
  // `source` labels these requests in usage reports (the spend table's source column).
  const body = { prompt: value("prompt"), source: "web" };
  if (!body.prompt) return fieldError("prompt", "Write a prompt first.");
  if (value("backend")) body.backend = value("backend");
  if (value("style")) body.style = value("style");
  if (value("size") === "custom") {
    if (!value("width") || !value("height")) return fieldError("size", "Enter a width and a height, e.g. 1024 and 768.");
    body.size = `${value("width")}x${value("height")}`;
  } else if (value("size")) {
    body.size = value("size");
  }
  for (const id of ["seed", "steps", "n"]) if (value(id)) body[id] = Number(value(id));
  if (value("negative")) body.negative = value("negative");
  if (editing) {
    body.reference_images = [{ key: editing.key }];
    // An edit keeps its source's size unless another one is chosen.
    if (!body.size && editing.width && editing.height) body.size = `${editing.width}x${editing.height}`;
  }
  return body;
}

/** Before submitting: what it would cost and whether it fits the budget (hidden if unsupported). */
async function showEstimate() {
  const body = requestBody(false);
  const line = $("estimate");
  if (!body) return;
  try {
    const estimate = await api("/v1/images/estimate", { method: "POST", body });
    line.textContent = estimateLine(estimate);
  } catch (error) {
    // The request is not valid yet (shown next to its field), or the estimate is unreachable.
    line.textContent = "";
    if (error instanceof ApiProblem && error.status === 400) {
      clearErrors();
      showFieldErrors(error.errors, false);
    }
  }
}

/** "Estimate: $0.0030 (worst case, fallbacks included) — fits the budget", or what breaks a limit. */
function estimateLine(estimate) {
  const cost = estimate.worst_case_usd === null ? "unknown (a backend of the chain has no price)" : usd(estimate.worst_case_usd);
  const verdict =
    estimate.limit_violations.length > 0
      ? ` — not allowed: ${estimate.limit_violations.map((v) => v.message).join("; ")}`
      : estimate.fits_budget === false
        ? " — over budget"
        : estimate.fits_budget === true
          ? " — fits the budget"
          : "";
  return `Estimate: ${cost}${verdict}`;
}

/** POST with `Prefer: respond-async`, then poll the job; resolves with its result. */
async function runJob(body, mine) {
  const started = Date.now();
  const progress = $("progress");
  progress.hidden = false;
  progress.textContent = "Submitting…";
  $("results").replaceChildren();
  // On a phone the status line is below the fold: bring it up, and keep focus off <body>.
  progress.scrollIntoView({ block: "nearest" });
  progress.focus({ preventScroll: true });
  try {
    let job = await api("/v1/images", { method: "POST", body, headers: { prefer: "respond-async" } });
    while (job.status === "submitted" || job.status === "running") {
      if (mine !== generation) return null;
      progress.textContent = describeProgress(job, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (mine !== generation) return null;
      job = await api(`/v1/jobs/${job.id}`);
    }
    if (job.status === "succeeded") return job.result;
    if (job.status === "canceled") throw new Error("The job was canceled.");
    throw jobFailure(job.error);
  } finally {
    progress.hidden = true;
  }
}

/**
 * The job's own state decides queued vs running (`status`, `started_at`); `progress` only refines
 * it (a backend's queue position, sampler steps), and most backends report none.
 */
function describeProgress(job, elapsedMs) {
  const parts = [];
  const p = job.progress;
  if (job.status === "submitted") {
    parts.push("Queued");
  } else if (p?.state === "queued") {
    parts.push(`Queued at ${job.backend ?? "the backend"}${p.queue_position === undefined ? "" : ` (position ${p.queue_position + 1})`}`);
  } else {
    parts.push(`Running${job.backend ? ` on ${job.backend}` : ""}`);
  }
  if (p?.step !== undefined && p?.steps !== undefined) parts.push(`step ${p.step} of ${p.steps}`);
  parts.push(`${Math.round(elapsedMs / 1000)} s elapsed`);
  return parts.join(" · ");
}

/** A failed job as a problem carrying every attempt (what the fallback did). */
function jobFailure(error) {
  // The job's error is the problem document the sync answer would have been (resets_at, attempts…).
  return new ApiProblem(error.status, error, null);
}

function showProblem(error, onKeyProblem) {
  if (!(error instanceof ApiProblem)) return markField("submit", error.message);
  const access = accessMessage(error);
  if (error.status === 401) return onKeyProblem(access);
  if (access) return markField("submit", access);
  if (error.status === 402) {
    const resets = error.body.resets_at ? ` The budget resets ${new Date(error.body.resets_at).toLocaleString()}.` : "";
    return markField("submit", `Over budget: ${error.message}.${resets}`);
  }
  if (error.status === 400 && error.errors.length > 0) return showFieldErrors(error.errors, true);
  if (error.status >= 500 || error.body.attempts) return markField("backend", backendDownMessage(error));
  return markField("submit", error.message);
}

function backendDownMessage(error) {
  const attempts = error.body.attempts ?? [];
  const tried = attempts.map((a) => `${a.backend} (${a.kind}: ${a.detail})`).join("; ");
  const fallback = attempts.length > 1 ? ` Fallback tried ${attempts.length - 1} more backend(s); none succeeded.` : " No fallback is configured for it.";
  return `Backend down: ${error.message}.${tried ? ` Tried: ${tried}.` : ""}${attempts.length > 0 ? fallback : ""} Pick another backend and try again.`;
}

function showFieldErrors(errors, focus) {
  for (const { field, message } of errors) {
    const name = FIELDS.includes(field) ? field : "submit";
    markField(name, message, focus);
    focus = false;
  }
}

function markField(name, message, focus = true) {
  $(`${name}-error`).textContent = message;
  const input = $(name);
  if (input && name !== "submit") {
    input.setAttribute("aria-invalid", "true");
    if (focus) input.focus();
  }
  return null;
}

function clearFieldError(name) {
  $(`${name}-error`).textContent = "";
  $(name)?.removeAttribute("aria-invalid");
}

function clearErrors() {
  for (const name of [...FIELDS, "submit"]) clearFieldError(name);
}

/** The finished generation: images, what made them, and how to do the same from a terminal. */
function showResults(outcome, body) {
  const results = $("results");
  const facts = el(
    "p",
    { class: "facts" },
    `${outcome.backend} · ${outcome.model} · seed ${outcome.seed} · ${outcome.latency_ms} ms · ${usd(outcome.cost_usd_estimate)}`,
  );
  const fallback = outcome.failed_attempts.length
    ? el(
        "p",
        { class: "note" },
        `Fallback: ${outcome.failed_attempts.map((a) => `${a.backend} failed (${a.kind})`).join(", ")}; ${outcome.backend} produced these.`,
      )
    : null;
  const useSeed = el("button", { type: "button" }, "Use this seed");
  useSeed.addEventListener("click", () => {
    $("seed").value = String(outcome.seed);
    $("seed").focus();
  });
  const source = body.reference_images && editing ? sourceFigure(editing) : null;
  const figures = [source, ...outcome.images.map((image) => imageFigure(image))];
  const title = el("h3", { id: "result-title", tabindex: "-1" }, "Result");
  results.replaceChildren(el("div", {}, title, facts, fallback, useSeed, el("div", { class: "grid" }, figures), snippets(body)));
  // The result is usually below the fold (always on a phone): show it and move focus to it.
  results.scrollIntoView({ block: "start" });
  title.focus({ preventScroll: true });
}

/** The edited image, shown first beside its results. */
function sourceFigure(image) {
  const img = el("img", { alt: `Source image ${image.key}`, width: image.width, height: image.height, src: image.url });
  return el("figure", { class: "source" }, img, el("figcaption", {}, "Source · ", el("span", { class: "key" }, image.key)));
}

// Image URLs carry their own signature (`?exp=&sig=`): an <img> cannot send the bearer header.
function imageFigure(image) {
  const img = el("img", { alt: `Generated image ${image.key}`, width: image.width, height: image.height, src: image.url });
  img.addEventListener("error", () => img.replaceWith(el("p", { class: "field-error" }, "Could not load the image.")), { once: true });
  const download = el("a", { class: "button", href: image.url, download: image.key.split("/").pop() }, "Download");
  return el("figure", {}, img, el("figcaption", {}, `${image.width}×${image.height} · `, download));
}

function snippets(body) {
  const json = JSON.stringify(body);
  const origin = location.origin;
  const curl = `curl -sS -X POST "${origin}/v1/images" \\\n  -H "Authorization: Bearer $IMAGEN_API_KEY" \\\n  -H "content-type: application/json" \\\n  -d '${json.replaceAll("'", "'\\''")}'`;
  const js = `const response = await fetch("${origin}/v1/images", {\n  method: "POST",\n  headers: { authorization: \`Bearer \${process.env.IMAGEN_API_KEY}\`, "content-type": "application/json" },\n  body: JSON.stringify(${JSON.stringify(body, null, 2).replaceAll("\n", "\n  ")}),\n});\nconsole.log(await response.json());`;
  return el(
    "details",
    { class: "snippets" },
    el("summary", {}, "Do the same from a terminal or a script"),
    el("h4", {}, "curl"),
    el("pre", {}, el("code", {}, curl)),
    el("h4", {}, "JavaScript (Node 20+)"),
    el("pre", {}, el("code", {}, js)),
  );
}
