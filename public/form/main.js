// The web form's entry point: the API key panel, the three sections (#generate, #gallery,
// #spend) and errors about the key itself. Plain modules, no build step.
import { accessMessage, api, apiKey, ApiProblem } from "./api.js";
import { clearGallery, loadGallery, setUpGallery } from "./gallery.js";
import { clearGenerate, loadBackends, setUpGenerate, startEdit } from "./generate.js";
import { clearSpend, loadSpend } from "./spend.js";

const SECTIONS = ["generate", "gallery", "spend"];
const $ = (id) => document.getElementById(id);

function keyProblem(message) {
  $("api-key-error").textContent = message;
  $("api-key").setAttribute("aria-invalid", "true");
  $("api-key").focus();
}

function clearKeyProblem() {
  $("api-key-error").textContent = "";
  $("api-key").removeAttribute("aria-invalid");
}

/** Errors while loading a section: key problems go to the key field, the rest to the section. */
function reporter(target) {
  return (error) => {
    const access = error instanceof ApiProblem ? accessMessage(error) : null;
    if (error instanceof ApiProblem && error.status === 401) keyProblem(access);
    else $(target).textContent = access ?? error.message;
  };
}

async function show(section) {
  for (const name of SECTIONS) $(name).hidden = name !== section;
  if (!apiKey.get()) return keyProblem("Paste an API key first (ask the operator, or `npm run keys -- add <name>`).");
  if (section === "gallery") await loadGallery().catch(reporter("gallery-error"));
  if (section === "spend") await loadSpend().catch(reporter("spend-error"));
}

function currentSection() {
  const name = location.hash.slice(1);
  return SECTIONS.includes(name) ? name : "generate";
}

async function useKey() {
  clearKeyProblem();
  if (!apiKey.get()) return;
  try {
    await api("/v1/backends").then(() => loadBackends());
  } catch (error) {
    reporter("submit-error")(error);
    return;
  }
  await show(currentSection());
}

function showKeyState() {
  $("api-key").value = "";
  $("api-key").placeholder = apiKey.get() ? "key saved in this browser — paste another to replace it" : "imk_…";
}

showKeyState();
$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key && !apiKey.get()) return keyProblem("Paste the whole key, starting with imk_.");
  if (key) apiKey.set(key);
  showKeyState();
  await useKey();
});
// Whatever the key showed (its images, spend, results, backends) leaves the screen with it: the
// next person at this browser sees none of it.
$("forget-key").addEventListener("click", () => {
  apiKey.forget();
  clearGenerate();
  clearGallery();
  clearSpend();
  clearKeyProblem();
  showKeyState();
  $("api-key").focus();
});
setUpGenerate({ onKeyProblem: keyProblem, onGenerated: () => {} });
setUpGallery(reporter("gallery-error"), (image) => {
  startEdit(image);
  location.hash = "#generate";
});
window.addEventListener("hashchange", () => show(currentSection()));
document.documentElement.dataset.ready = "true";
useKey();
