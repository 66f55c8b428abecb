// Latchkey console: progressive enhancement only. Every page works without
// this script; with it, secrets copy with one click, destructive actions ask
// in a dialog, and the token form shows only the controls that apply.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#selector">.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  function setupCopy(button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) { return; }
      var text = "value" in source ? source.value : source.textContent;
      var label = button.querySelector("span") || button;
      var status = button.closest("section, .card, main").querySelector(".copy-status");
      copyText(text).then(function () {
        label.textContent = "Copied";
        if (status) { status.textContent = "Copied to the clipboard."; }
        window.setTimeout(function () { label.textContent = "Copy"; }, 2500);
      }, function () {
        source.focus();
        if (source.select) { source.select(); }
        if (status) { status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected text."; }
      });
    });
  }

  // Confirmation dialog for forms with data-confirm. Confirming adds
  // confirm=yes, which the server requires before it acts; without this
  // script the server shows a confirmation page instead.
  function setupConfirm(form) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed === "yes") { return; }
      event.preventDefault();
      document.getElementById("confirm-title").textContent = form.getAttribute("data-confirm-title") || "Are you sure?";
      document.getElementById("confirm-message").textContent = form.getAttribute("data-confirm");
      document.getElementById("confirm-ok").textContent = form.getAttribute("data-confirm-button") || "Confirm";
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "confirm") { return; }
        var input = form.querySelector("input[name=confirm]");
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = "confirm";
          form.appendChild(input);
        }
        input.value = "yes";
        form.dataset.confirmed = "yes";
        form.submit();
      });
    });
  }

  // Expiration: show the date picker only for "Custom date".
  function setupExpiry(select) {
    var custom = document.getElementById("custom-date");
    if (!custom) { return; }
    var date = custom.querySelector("input");
    function update() {
      var on = select.value === "custom";
      custom.hidden = !on;
      date.required = on;
    }
    select.addEventListener("change", function () {
      update();
      if (select.value === "custom") { date.focus(); }
    });
    update();
  }

  // Permissions: hide the scope list while "Super admin" is chosen.
  function setupAccess() {
    var radios = document.querySelectorAll("input[data-access]");
    var specific = document.getElementById("specific-scopes");
    if (!radios.length || !specific) { return; }
    function update() {
      var superAdmin = document.querySelector("input[data-access][value=super]:checked") !== null;
      specific.hidden = superAdmin;
    }
    radios.forEach(function (r) { r.addEventListener("change", update); });
    update();
  }

  // Typing resource patterns ticks their scope.
  function setupPatterns(input) {
    input.addEventListener("input", function () {
      var box = document.getElementById(input.getAttribute("data-scope-for"));
      if (box && input.value.trim() !== "") { box.checked = true; }
    });
  }

  // A form sent back with errors: focus starts at the first field in
  // error, else at the form's error message, so that keyboard and
  // screen-reader users begin where the fix is.
  function focusFirstError() {
    var target = document.querySelector("main [aria-invalid=\"true\"]") || document.getElementById("form-error");
    if (target) { target.focus(); } // runs after setupExpiry: a custom date in error shows
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(setupCopy);
    document.querySelectorAll("form[data-confirm]").forEach(setupConfirm);
    document.querySelectorAll("select[data-expiry]").forEach(setupExpiry);
    document.querySelectorAll("input[data-scope-for]").forEach(setupPatterns);
    document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    setupAccess();
    focusFirstError();
  });
})();
