// Uploads the session recording with a progress bar. Without JavaScript the form posts normally.
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const input = document.getElementById("id_file");
  const button = document.getElementById("upload-button");
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
  const text = document.getElementById("upload-progress-text");
  const maxBytes = Number(form.dataset.maxBytes);
  const maxMb = form.dataset.maxMb;

  function showError(message) {
    let box = document.getElementById("upload-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "upload-error";
      box.className = "alert alert-error";
      box.setAttribute("role", "alert");
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = message;
    status.hidden = true;
    button.disabled = false;
    input.disabled = false;
  }

  function formatMb(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  form.addEventListener("submit", function (event) {
    const file = input.files && input.files[0];
    if (!file) return; // the browser's own "required" message applies
    event.preventDefault();
    if (file.size === 0) {
      showError("The file is empty (0 bytes). Choose the recording again; it may not have finished saving.");
      return;
    }
    if (maxBytes && file.size > maxBytes) {
      showError("The file is " + formatMb(file.size) + "; the largest accepted is " + maxMb + " MB.");
      return;
    }
    const data = new FormData(form);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      text.textContent = percent < 100
        ? "Uploading… " + percent + "% (" + formatMb(e.loaded) + " of " + formatMb(e.total) + ")"
        : "Checking the recording…";
    });
    xhr.addEventListener("load", function () {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
        text.textContent = "Uploaded.";
        window.location.assign(body.redirect);
      } else if (body && body.message) {
        showError(body.message);
      } else if (xhr.status === 403 || (xhr.status === 200 && !body)) {
        showError("Your session has expired. Reload the page, log in again and retry the upload.");
      } else {
        showError("The upload failed (HTTP " + xhr.status + "). Your existing recording is unchanged. Try again.");
      }
    });
    xhr.addEventListener("error", function () {
      showError("The connection was lost during the upload. Your existing recording is unchanged. Try again.");
    });
    status.hidden = false;
    bar.value = 0;
    text.textContent = "Starting upload…";
    button.disabled = true;
    input.disabled = true;
    xhr.send(data);
  });
})();
