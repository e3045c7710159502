// The caller's recent images (GET /v1/images), newest first, a page at a time; each can be the
// source of an edit ("Edit this image" hands it to the generate form).
import { api, el, usd, when } from "./api.js";

const PAGE = 24;
const $ = (id) => document.getElementById(id);
let nextCursor = null;
/** Bumped by clearGallery: a page still loading for a forgotten key is dropped. */
let generation = 0;
let editImage = () => {};

export function setUpGallery(onProblem, onEdit) {
  editImage = onEdit;
  $("gallery-more").addEventListener("click", () => loadGallery(true).catch(onProblem));
}

/** Reloads the first page, or appends the next one when `more`. */
export async function loadGallery(more = false) {
  if (!more) {
    $("gallery-grid").replaceChildren();
  }
  const mine = generation;
  const query = new URLSearchParams({ limit: String(PAGE), ...(more && nextCursor ? { cursor: nextCursor } : {}) });
  const page = await api(`/v1/images?${query}`);
  if (mine !== generation) return;
  nextCursor = page.next_cursor;
  $("gallery-more").hidden = nextCursor === null;
  if (!more && page.images.length === 0) $("gallery-grid").append(el("p", { class: "note" }, "No images yet — generate one."));
  for (const image of page.images) $("gallery-grid").append(figure(image));
}

/** The key was forgotten: nothing it showed stays on screen. */
export function clearGallery() {
  generation++;
  nextCursor = null;
  $("gallery-grid").replaceChildren();
  $("gallery-error").textContent = "";
  $("gallery-more").hidden = true;
}

function figure(image) {
  // A signed URL (`?exp=&sig=`): the <img> needs no key.
  const img = el("img", { alt: image.key, loading: "lazy", src: image.url, ...(image.width && { width: image.width, height: image.height }) });
  img.addEventListener("error", () => img.replaceWith(el("p", { class: "field-error" }, "Could not load this image.")), { once: true });
  const made = [image.backend, image.model, image.seed === null ? null : `seed ${image.seed}`, usd(image.cost_usd_estimate)].filter(Boolean).join(" · ");
  const edit = el("button", { type: "button", class: "edit-image" }, "Edit this image");
  edit.addEventListener("click", () => editImage(image));
  return el(
    "figure",
    { "data-key": image.key },
    img,
    el("figcaption", {}, el("span", { class: "key" }, image.key), el("br"), made, el("br"), when(image.created_at), el("br"), edit),
  );
}
