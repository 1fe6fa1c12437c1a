// Live progress of the session's processing: polls the job's status while it runs, then reloads the
// page so the transcript and the note appear. Without JavaScript the page shows the state at load.
"use strict";

(function () {
  const panel = document.getElementById("processing");
  if (!panel || !panel.dataset.statusUrl) return;
  const url = panel.dataset.statusUrl;
  const field = (id) => document.getElementById(id);
  let delay = 1000;

  function render(state) {
    field("job-status").textContent = state.status_label;
    field("job-status").className = "badge badge-" + state.status;
    field("job-stage").textContent = state.active
      ? "Step " + state.stage_number + " of " + state.stage_count + ": " + state.stage_label
      : "";
    field("job-progress").textContent = state.progress || "";
    field("job-elapsed").textContent = state.elapsed_seconds ? state.elapsed_seconds + " s" : "";
    const bar = field("job-progress-bar");
    if (bar) bar.value = Math.max(state.stage_number - 1, 0);
    const error = field("job-error");
    if (state.error_message && state.status !== "succeeded") {
      error.textContent = state.error_message + (state.status === "retry_wait" ? " Trying again automatically." : "");
      error.hidden = false;
    } else {
      error.hidden = true;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => {
        const json = (response.headers.get("Content-Type") || "").includes("application/json");
        if (response.redirected || (response.ok && !json)) {
          // Logged out meanwhile: reloading shows the login page instead of polling it forever.
          window.location.reload();
          return new Promise(() => {});
        }
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then((state) => {
        render(state);
        if (!state.active) {
          // Reloading would cut a recording being made on this page; its stop reloads the page anyway.
          const recorder = document.getElementById("recorder");
          const busy = recorder && !["idle", "error", "saved", undefined].includes(recorder.dataset.state);
          if (!busy) window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(() => {
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
