// Shared by both pages: API calls with the optional token, and one-line error messages.
"use strict";

const TOKEN_KEY = "chromagen-token";

// A token given in the link (#token=...) is kept for the tab, then removed from the address bar.
(function tokenFromHash() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
})();

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// fetch() that adds the token, turns JSON errors into ApiError and asks for a token on 401.
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (response.ok) return response;
  let message = response.status + " " + response.statusText;
  try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
  if (response.status === 401) showTokenForm();
  if (response.status === 503) {
    message += " (retry in " + (response.headers.get("Retry-After") || "a few") + " s)";
  }
  throw new ApiError(response.status, message);
}

function showTokenForm() {
  const form = document.getElementById("token-form");
  if (!form) return;
  form.hidden = false;
  form.querySelector("input").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("token-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, form.querySelector("input").value.trim());
    form.hidden = true;
    document.dispatchEvent(new Event("token-changed"));
  });
});

function say(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

/** Show a fetched image blob in an <img>, freeing the previous one; resolves once it has decoded. */
function showBlob(img, blob) {
  return new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = reject;
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
  });
}
