// The note editor: copy to clipboard as paste-safe plain text, a warning before unsaved text is lost
// (also when accepting an AI draft or signing, which act on the saved version), Ctrl+S / Cmd+S to save,
// and no double submission. The page works without it except for copying.
"use strict";

(function () {
  const form = document.querySelector("form[data-note-editor]");
  if (!form) {
    return;
  }
  const status = form.querySelector("[data-copy-status]");
  const saveButton = form.querySelector("button[data-save]");
  let statusTimer = 0;
  let dirty = form.hasAttribute("data-unsaved");
  let submitting = false;

  form.querySelectorAll("[data-js-only]").forEach(function (element) {
    element.hidden = false;
  });

  function announce(message) {
    if (!status) {
      return;
    }
    // Emptying first makes screen readers announce a repeated message again.
    status.textContent = "";
    window.clearTimeout(statusTimer);
    window.setTimeout(function () {
      status.textContent = message;
    }, 50);
    statusTimer = window.setTimeout(function () {
      status.textContent = "";
    }, 5000);
  }

  function plain(text) {
    return text.replace(/\r\n?/g, "\n").replace(/\s+$/, "");
  }

  function sectionText(textarea) {
    const heading = textarea.getAttribute("data-heading") || "";
    const body = plain(textarea.value);
    return body ? heading + "\n" + body : heading;
  }

  function noteText() {
    const areas = form.querySelectorAll("textarea[data-section-text]");
    return Array.prototype.map.call(areas, sectionText).join("\n\n");
  }

  function copyWithSelection(text) {
    const buffer = document.createElement("textarea");
    const previousFocus = document.activeElement;
    buffer.value = text;
    buffer.setAttribute("readonly", "");
    buffer.setAttribute("aria-hidden", "true");
    buffer.className = "copy-buffer";
    document.body.appendChild(buffer);
    buffer.focus();
    buffer.select();
    buffer.setSelectionRange(0, text.length);
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(buffer);
    if (previousFocus && typeof previousFocus.focus === "function") {
      previousFocus.focus();
    }
    return copied;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () {
          return true;
        },
        function () {
          return copyWithSelection(text);
        }
      );
    }
    return Promise.resolve(copyWithSelection(text));
  }

  function flash(button) {
    const label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("is-copied");
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("is-copied");
    }, 2000);
  }

  function copyFrom(button, text, what) {
    copyText(text).then(function (copied) {
      if (copied) {
        flash(button);
        announce("Copied " + what);
      } else {
        announce("Could not copy: select the text and press Ctrl+C (⌘C on a Mac).");
      }
    });
  }

  form.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button || !form.contains(button) || button.classList.contains("is-copied")) {
      return;
    }
    if (button.hasAttribute("data-copy-note")) {
      copyFrom(button, noteText(), "the whole note");
    } else if (button.hasAttribute("data-copy-section")) {
      const area = document.getElementById(button.getAttribute("data-copy-section"));
      if (area) {
        copyFrom(button, sectionText(area), area.getAttribute("data-heading") || "the section");
      }
    } else if (button.hasAttribute("data-copy-saved")) {
      const saved = document.getElementById(button.getAttribute("data-copy-saved"));
      if (saved) {
        copyFrom(button, plain(saved.textContent), "the saved text");
      }
    }
  });

  form.addEventListener("input", function (event) {
    // A flag's dismissal reason sits among the statements but belongs to its own form.
    if (event.target && event.target.form && event.target.form !== form) {
      return;
    }
    dirty = true;
  });

  form.addEventListener("submit", function (event) {
    if (submitting) {
      // A second submission would carry the same version and come back as a conflict.
      event.preventDefault();
      return;
    }
    submitting = true;
    if (saveButton) {
      saveButton.setAttribute("aria-disabled", "true");
      saveButton.textContent = "Saving…";
    }
  });

  document.querySelectorAll("form[data-note-action]").forEach(function (actionForm) {
    let sent = false;
    actionForm.addEventListener("submit", function (event) {
      // A repeated accept or sign carries a version the first one already moved past: it would come back refused.
      if (sent) {
        event.preventDefault();
        return;
      }
      sent = true;
      const button = actionForm.querySelector("button[type=submit]");
      if (button) {
        button.setAttribute("aria-disabled", "true");
      }
      // When the unsaved-changes prompt is cancelled the page stays, and the form must work again.
      window.setTimeout(function () {
        sent = false;
        if (button) {
          button.removeAttribute("aria-disabled");
        }
      }, 5000);
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("keydown", function (event) {
    const isSave = (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && (event.key || "").toLowerCase() === "s";
    if (!isSave || !saveButton) {
      return;
    }
    event.preventDefault();
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(saveButton);
    } else {
      saveButton.click();
    }
  });
})();
