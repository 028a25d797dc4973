// Color hints on the colorize page: points on the photo (pixels of the upload), each with a color the
// hint-aware model must use there. Clicking drops one, dragging or the arrow keys move it, Delete removes it;
// the selected point's color comes from the native picker or the colors the server suggests for that spot.
"use strict";

const hints = { points: [], selected: -1, upload: null, onChange: null, modelBefore: null,
                suggesting: null, suggestTimer: null };

function hintQuery(params) {
  for (const p of hints.points) params.append("hint", p.x + "," + p.y + "," + p.color);
}

// A new photo starts without hints (the page then selects the model the server colorized it with).
function resetHints(upload) {
  hints.upload = upload;
  hints.points = [];
  hints.selected = -1;
  hints.modelBefore = null;
  drawPoints();
}

// Pointer position -> pixel of the upload, clamped inside it.
function pixelAt(event) {
  const box = document.getElementById("before").getBoundingClientRect();
  const { width, height } = hints.upload;
  const clamp = (v, size) => Math.min(size - 1, Math.max(0, Math.floor(v * size)));
  return { x: clamp((event.clientX - box.left) / box.width, width),
           y: clamp((event.clientY - box.top) / box.height, height) };
}

function label(index) {
  const p = hints.points[index];
  return "Hint " + (index + 1) + " at " + p.x + ", " + p.y + ": " + p.color;
}

function place(marker, point) {
  marker.style.left = (100 * (point.x + 0.5) / hints.upload.width) + "%";
  marker.style.top = (100 * (point.y + 0.5) / hints.upload.height) + "%";
  marker.style.backgroundColor = point.color;
}

// Hints need a hint-aware model: others are disabled while points exist, and the one they replaced comes back.
// The saturation slider stays where the user put it.
function syncModels() {
  const models = document.getElementById("model");
  const hinted = hints.points.length > 0;
  for (const option of models.options) option.disabled = hinted && option.dataset.hints !== "true";
  const current = models.selectedOptions[0];
  if (hinted && current && current.disabled) {
    const aware = [...models.options].find((o) => !o.disabled);
    if (!aware) return;
    hints.modelBefore = models.value;
    models.value = aware.value;
  } else if (!hinted && hints.modelBefore !== null) {
    models.value = hints.modelBefore;
    hints.modelBefore = null;
  }
}

// Markers are updated in place (never rebuilt), so the focused or dragged one stays the same element.
function drawPoints() {
  const layer = document.getElementById("points");
  while (layer.children.length > hints.points.length) layer.lastElementChild.remove();
  while (layer.children.length < hints.points.length) {
    const marker = document.createElement("button");
    marker.type = "button";
    marker.dataset.index = layer.children.length;
    layer.append(marker);
  }
  hints.points.forEach((point, index) => {
    const marker = layer.children[index];
    marker.className = "point" + (index === hints.selected ? " selected" : "");
    marker.setAttribute("aria-label", label(index));
    place(marker, point);
  });
  const editor = document.getElementById("hint-editor");
  editor.hidden = hints.selected < 0;
  if (hints.selected >= 0) {
    const point = hints.points[hints.selected];
    document.getElementById("hint-where").textContent = (hints.selected + 1) + " at " + point.x + ", " + point.y;
    document.getElementById("hint-color").value = point.color;
    markSuggestion();
  }
  document.getElementById("hints-clear").disabled = hints.points.length === 0;
  layer.dataset.count = hints.points.length;
  syncModels();
}

function markerOf(index) {
  return document.querySelector('#points .point[data-index="' + index + '"]');
}

// Every change of the points re-colorizes (debounced by the page; a stale render is aborted there).
function changed() {
  drawPoints();
  hints.onChange();
}

function select(index) {
  if (index === hints.selected) return;
  hints.selected = index;
  drawPoints();
  suggest();
}

// A new point starts with the model's own color there (the first suggestion), so dropping one changes
// little until a color is picked.
async function addPoint(x, y) {
  try {
    const colors = await suggestionsAt({ x, y });
    clearTimeout(hints.suggestTimer);  // an older point's suggestions must not replace these
    if (hints.suggesting) hints.suggesting.abort();
    hints.points.push({ x, y, color: colors[0] });
    hints.selected = hints.points.length - 1;
    showSuggestions(colors);
    changed();
  } catch (error) { say(document.getElementById("status"), error.message, true); }
}

function deletePoint(index) {
  hints.points.splice(index, 1);
  hints.selected = Math.min(index, hints.points.length - 1);
  changed();
  if (hints.selected >= 0) { markerOf(hints.selected).focus(); suggest(); }
  else document.getElementById("hint-add").focus();
}

function setColor(color) {
  if (hints.selected < 0) return;
  hints.points[hints.selected].color = color;
  changed();
}

function markSuggestion() {
  const color = hints.selected >= 0 ? hints.points[hints.selected].color : "";
  for (const swatch of document.querySelectorAll("#suggestions button")) {
    swatch.setAttribute("aria-pressed", String(swatch.dataset.color === color));
  }
}

// The colors the model finds likely at the selected point, asked once the point rests (arrow keys repeat).
function suggest() {
  clearTimeout(hints.suggestTimer);
  hints.suggestTimer = setTimeout(fetchSuggestions, 120);
}

async function suggestionsAt(point, signal) {
  const params = new URLSearchParams({ x: point.x, y: point.y, model: document.getElementById("model").value });
  const url = "/api/v1/uploads/" + hints.upload.id + "/suggestions?" + params;
  return (await (await api(url, { signal })).json()).colors;
}

function showSuggestions(colors) {
  const list = document.getElementById("suggestions");
  list.replaceChildren(...colors.map((color) => {
    const item = document.createElement("li");
    const swatch = document.createElement("button");
    swatch.type = "button";
    swatch.className = "swatch";
    swatch.dataset.color = color;
    swatch.style.backgroundColor = color;
    swatch.title = color;
    swatch.setAttribute("aria-label", "Use " + color);
    swatch.addEventListener("click", () => setColor(color));
    item.append(swatch);
    return item;
  }));
  markSuggestion();
}

// Only the newest answer is shown: an older request still in flight is aborted.
async function fetchSuggestions() {
  if (hints.selected < 0) return;
  if (hints.suggesting) hints.suggesting.abort();
  const controller = hints.suggesting = new AbortController();
  try {
    showSuggestions(await suggestionsAt(hints.points[hints.selected], controller.signal));
  } catch (error) {
    if (error.name !== "AbortError") say(document.getElementById("status"), error.message, true);
  }
}

// Drag a point with mouse, pen or finger; a press that moves less than DRAG_PX only selects it.
const DRAG_PX = 3;

function dragPoint(event) {
  const index = Number(event.target.dataset.index);
  const target = event.target;
  let moved = false;
  target.setPointerCapture(event.pointerId);
  select(index);
  const move = (e) => {
    if (!moved && Math.hypot(e.clientX - event.clientX, e.clientY - event.clientY) < DRAG_PX) return;
    const { x, y } = pixelAt(e);
    const point = hints.points[index];
    if (x === point.x && y === point.y) return;
    Object.assign(point, { x, y });
    moved = true;
    place(markerOf(index), point);
  };
  const up = () => {
    target.removeEventListener("pointermove", move);
    target.removeEventListener("pointerup", up);
    target.removeEventListener("pointercancel", up);
    if (moved) { changed(); suggest(); }
    markerOf(index).focus();
  };
  target.addEventListener("pointermove", move);
  target.addEventListener("pointerup", up);
  target.addEventListener("pointercancel", up);
}

// Arrow keys move the focused point by 1 % of the photo (Shift: 10 %); Delete or Backspace removes it.
function pointKey(event) {
  const index = Number(event.target.dataset.index);
  if (event.key === "Delete" || event.key === "Backspace") {
    event.preventDefault();
    deletePoint(index);
    return;
  }
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
  if (!steps) return;
  event.preventDefault();
  const { width, height } = hints.upload;
  const scale = event.shiftKey ? 0.1 : 0.01;
  const point = hints.points[index];
  point.x = Math.min(width - 1, Math.max(0, point.x + Math.round(steps[0] * Math.max(1, width * scale))));
  point.y = Math.min(height - 1, Math.max(0, point.y + Math.round(steps[1] * Math.max(1, height * scale))));
  changed();
  markerOf(index).focus();
  suggest();
}

function setupHints(onChange) {
  hints.onChange = onChange;
  const layer = document.getElementById("points");
  layer.addEventListener("click", (event) => {
    if (event.target !== layer || !hints.upload) return;
    const { x, y } = pixelAt(event);
    addPoint(x, y);
  });
  layer.addEventListener("pointerdown", (event) => {
    if (event.target.classList.contains("point")) dragPoint(event);
  });
  layer.addEventListener("keydown", (event) => {
    if (event.target.classList.contains("point")) pointKey(event);
  });
  layer.addEventListener("focusin", (event) => {
    if (event.target.classList.contains("point")) select(Number(event.target.dataset.index));
  });
  document.getElementById("hint-add").addEventListener("click", async () => {
    if (!hints.upload) return;
    await addPoint(Math.floor(hints.upload.width / 2), Math.floor(hints.upload.height / 2));
    if (hints.selected >= 0) markerOf(hints.selected).focus();
  });
  document.getElementById("hint-color").addEventListener("input", (event) => setColor(event.target.value));
  document.getElementById("hint-delete").addEventListener("click", () => deletePoint(hints.selected));
  document.getElementById("hints-clear").addEventListener("click", () => {
    hints.points = [];
    hints.selected = -1;
    changed();
  });
}
