// The colorize page: upload once, then re-render on the server as the sliders, model and hints change.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { upload: null, name: "photo", controller: null, timer: null, renders: 0 };

async function loadModels() {
  try {
    const models = await (await api("/api/v1/models")).json();
    $("model").replaceChildren(...models.map((m) => {
      const option = new Option(m.name + " (" + m.architecture + ")", m.name);
      option.title = m.description;
      option.dataset.chroma = m.chroma;
      option.dataset.hints = m.hints;
      return option;
    }));
  } catch (error) { say($("status"), error.message, true); }
}

async function loadGallery() {
  const examples = await (await fetch("/api/v1/examples")).json();
  $("gallery").replaceChildren(...examples.map((example) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.innerHTML = '<img alt="" loading="lazy"><span></span>';
    button.querySelector("img").src = example.url;
    button.querySelector("span").textContent = example.name;
    button.setAttribute("aria-label", "Colorize the example " + example.name);
    button.addEventListener("click", async () => {
      const blob = await (await fetch(example.url)).blob();
      upload(new File([blob], example.name + ".jpg", { type: blob.type }));
    });
    item.append(button);
    return item;
  }));
}

async function upload(file) {
  if (!file) return;
  state.name = file.name.replace(/\.[^.]+$/, "") || "photo";
  say($("status"), "Uploading " + file.name + "…");
  document.body.dataset.state = "busy";
  const form = new FormData();
  form.append("image", file, file.name);
  try {
    const info = await (await api("/api/v1/uploads", { method: "POST", body: form })).json();
    state.upload = info;
    resetHints(info);
    await showBefore(file, info);
    $("chroma").value = info.chroma;
    $("model").value = info.model;
    $("dimensions").textContent = info.width + " × " + info.height + " pixels" + (info.pages > 1
      ? "; page 1 of " + info.pages + " shown and hinted (a TIFF download holds every page)" : "");
    $("result").hidden = false;
    await render();
  } catch (error) {
    document.body.dataset.state = "error";
    say($("status"), error.message, true);
  }
}

// The photo as uploaded, or, where the browser cannot show its format (TIFF...), the server's gray render of it.
async function showBefore(file, info) {
  try {
    await showBlob($("before"), file);
  } catch (error) {
    const params = new URLSearchParams({ model: info.model, chroma: 0, format: "jpeg" });
    await showBlob($("before"), await (await api("/api/v1/uploads/" + info.id + "/colorized?" + params)).blob());
  }
}

function renderUrl(format) {
  const params = new URLSearchParams({ model: $("model").value, chroma: $("chroma").value, format });
  hintQuery(params);
  return "/api/v1/uploads/" + state.upload.id + "/colorized?" + params;
}

// Only the newest render counts: an older one still in flight is aborted.
async function render() {
  if (!state.upload) return;
  $("chroma-value").textContent = Number($("chroma").value).toFixed(2);
  if (state.controller) state.controller.abort();
  const controller = state.controller = new AbortController();
  document.body.dataset.state = "busy";
  say($("status"), "Colorizing…");
  try {
    const blob = await (await api(renderUrl("jpeg"), { signal: controller.signal })).blob();
    await showBlob($("after"), blob);
    state.renders += 1;
    document.body.dataset.renders = state.renders;
    document.body.dataset.state = "ready";
    say($("status"), "Done: drag the before/after slider, change the saturation or the model, or add color hints.");
  } catch (error) {
    if (error.name === "AbortError") return;
    document.body.dataset.state = "error";
    say($("status"), error.message, true);
  }
}

function renderSoon() {
  clearTimeout(state.timer);
  state.timer = setTimeout(render, 120);
}

async function download() {
  try {
    const format = $("format").value;
    const blob = await (await api(renderUrl(format))).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = state.name + "-color." + ({ jpeg: "jpg", tiff: "tif" }[format] || format);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    say($("status"), "Saved " + link.download);
  } catch (error) { say($("status"), error.message, true); }
}

function setSplit() {
  $("compare").style.setProperty("--split", $("split").value + "%");
}

document.addEventListener("DOMContentLoaded", () => {
  loadModels();
  loadGallery();
  setSplit();
  setupHints(renderSoon);
  $("file").addEventListener("change", (event) => upload(event.target.files[0]));
  $("split").addEventListener("input", setSplit);
  $("chroma").addEventListener("input", renderSoon);
  $("model").addEventListener("change", (event) => {
    $("chroma").value = event.target.selectedOptions[0].dataset.chroma;
    render();
  });
  $("download").addEventListener("click", download);
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...event.clipboardData.files].find((f) => f.type.startsWith("image/"));
    if (file) upload(file);
  });
  document.addEventListener("token-changed", loadModels);
});
