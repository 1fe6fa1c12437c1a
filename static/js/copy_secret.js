// A "Copy" button beside a secret shown once (a new API key, a webhook signing secret): copies the value of the
// input named by the button's data-copy-target and says so, for sighted and screen-reader users alike.
(function () {
  "use strict";

  function copyValue(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value).then(
        function () {
          return true;
        },
        function () {
          return selectAndCopy(input);
        }
      );
    }
    return Promise.resolve(selectAndCopy(input));
  }

  function selectAndCopy(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    const input = document.getElementById(button.dataset.copyTarget);
    const status = document.getElementById(button.dataset.copyStatus);
    if (!input) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      copyValue(input).then(function (copied) {
        if (status) {
          status.textContent = copied ? "Copied to the clipboard." : "Select the text and copy it by hand.";
        }
        button.textContent = copied ? "Copied" : "Copy";
      });
    });
  });
})();
