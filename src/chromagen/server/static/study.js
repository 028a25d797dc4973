// The study page: one trial at a time; the server knows the truth and reveals it after the answer.
"use strict";

const $ = (id) => document.getElementById(id);
let trial = null;

const percent = (x) => (100 * x).toFixed(0) + "%";

async function showResults() {
  const r = await (await api("/api/v1/study/results")).json();
  if (!r.colorized_shown && !r.real_shown) { $("results").textContent = "No answers yet."; return; }
  const fooled = r.colorized_shown
    ? "Fooled rate: " + percent(r.fooled_rate) + " of " + r.colorized_shown + " colorized photos were taken for real " +
      "(95% interval " + percent(r.fooled_ci95[0]) + "–" + percent(r.fooled_ci95[1]) + ")."
    : "No colorized photo judged yet.";
  const real = r.real_shown
    ? " Real photos judged real: " + percent(r.real_judged_real_rate) + " of " + r.real_shown + "."
    : "";
  $("results").textContent = fooled + real;
  $("results").dataset.answers = r.answers;
}

async function nextTrial() {
  trial = null;
  document.body.dataset.state = "busy";
  try {
    const next = await (await api("/api/v1/study/next")).json();
    const blob = await (await api(next.image)).blob();
    await showBlob($("photo"), blob);
    trial = next.trial;
    document.body.dataset.state = "ready";
  } catch (error) {
    document.body.dataset.state = "error";
    say($("status"), error.message, true);
  }
}

async function answer(choice) {
  if (!trial) return;
  const current = trial;
  trial = null;
  try {
    const response = await api("/api/v1/study/answers", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ trial: current, answer: choice }),
    });
    const { truth } = await response.json();
    say($("status"), (truth === choice ? "Right: " : "Not quite: ") + "that one was " +
        (truth === "real" ? "a real color photo." : "colorized by chromagen."));
    await showResults();
    await nextTrial();
  } catch (error) { say($("status"), error.message, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-answer]").forEach((button) =>
    button.addEventListener("click", () => answer(button.dataset.answer)));
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "INPUT") return;
    if (event.key === "r" || event.key === "R") answer("real");
    if (event.key === "c" || event.key === "C") answer("colorized");
  });
  document.addEventListener("token-changed", () => { showResults(); nextTrial(); });
  showResults().catch((error) => say($("status"), error.message, true));
  nextTrial();
});
