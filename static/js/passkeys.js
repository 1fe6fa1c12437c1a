// Passkeys (WebAuthn) on the two-factor pages, the second step of a login and the login page, without any inline
// script. allauth's webauthn.js runs the ceremony with the browser; this wires each button marked data-passkey to it:
//   data-passkey="add"           adds a passkey (data-passkey-options: the creation options the server prepared,
//                                data-passkey-passwordless: the id of the "sign in with it alone" checkbox)
//   data-passkey="authenticate"  confirms a login or a re-authentication (data-passkey-options: request options)
//   data-passkey="login"         signs in with a passkey alone (the options are fetched from its form's action)
// data-passkey-credential names the hidden input the browser's answer goes in; the form is then submitted.
// The buttons are hidden until this script shows them, so a page without it (or a browser without passkeys) offers
// nothing that cannot work. What goes wrong (the person cancels, no passkey fits) is said in #passkey-status, and
// a browser without passkeys is told so there when the element has a data-unsupported text.
(function () {
  "use strict";

  const status = document.getElementById("passkey-status");
  const buttons = document.querySelectorAll("[data-passkey]");
  const forms = window.allauth && window.allauth.webauthn && window.allauth.webauthn.forms;

  function say(text) {
    if (status) {
      status.textContent = text;
      status.hidden = false;
    }
  }

  if (!buttons.length) {
    return;
  }
  if (!forms || !window.PublicKeyCredential || !window.webauthnJSON || !window.webauthnJSON.supported()) {
    if (status && status.dataset.unsupported) {
      say(status.dataset.unsupported);
    }
    return;
  }

  document.addEventListener("allauth.error", function (event) {
    event.preventDefault();
    const error = event.detail && event.detail.exception;
    if (error && error.name === "NotAllowedError") {
      say("No passkey was used: the request was cancelled or timed out. Try again.");
    } else if (error && error.name === "InvalidStateError") {
      say("This passkey is already registered for your account.");
    } else {
      say("The passkey could not be used" + (error && error.message ? ": " + error.message : ".") + " Try again.");
    }
  });

  buttons.forEach(function (button) {
    const ids = { credential: button.dataset.passkeyCredential };
    const options = button.dataset.passkeyOptions ? JSON.parse(button.dataset.passkeyOptions) : undefined;
    button.hidden = false;
    switch (button.dataset.passkey) {
      case "add":
        ids.add = button.id;
        ids.passwordless = button.dataset.passkeyPasswordless;
        forms.addForm({ ids: ids, data: options });
        break;
      case "authenticate":
        ids.authenticate = button.id;
        forms.authenticateForm({ ids: ids, data: options });
        break;
      case "login":
        ids.login = button.id;
        forms.loginForm({ ids: ids });
        break;
    }
  });
})();
