// Latchkey console: progressive enhancement only. Every page works without
// this script; with it, secrets copy with one click, destructive actions ask
// in a dialog, and the token form shows only the controls that apply.
(function () {
  "use strict";

  // say puts text in a live region so that screen readers read it, even
  // when it is the same text as last time (a second copy): the region is
  // emptied first, and filled a moment later.
  function say(region, text) {
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 100);
  }

  // A notice rendered with the page (role=status, data-announce) was in its
  // live region before assistive technology knew of it, so nothing reads it
  // out: screen readers announce what changes in a live region, not what
  // it held on arrival. Once the page has settled, the notice's words are
  // said through the page's empty #announcer region, and the notice itself
  // stops being a live region, so they are heard once; focus stays where it
  // is and the page looks the same.
  function announceNotices() {
    var announcer = document.getElementById("announcer");
    var notices = document.querySelectorAll("[role=status][data-announce]");
    if (!announcer || !notices.length) { return; }
    var words = [];
    notices.forEach(function (notice) {
      notice.removeAttribute("role");
      words.push(notice.textContent.replace(/\s+/g, " ").trim());
    });
    window.setTimeout(function () { say(announcer, words.join(" ")); }, 300);
  }

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
        if (status) { say(status, "Copied to the clipboard."); }
        window.setTimeout(function () { label.textContent = "Copy"; }, 2500);
      }, function () {
        source.focus();
        if (source.select) { source.select(); }
        if (status) { say(status, "Press Ctrl+C (or ⌘C) to copy the selected text."); }
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

  // Expiration: show the date picker only for "Custom date". Choosing it
  // does not move focus: arrow keys change a closed list's choice as they
  // go, and taking focus away on the way to "No expiration" would trap the
  // user in the date box (WCAG 3.2.2). The date box is the next Tab stop.
  function setupExpiry(select) {
    var custom = document.getElementById("custom-date");
    if (!custom) { return; }
    var date = custom.querySelector("input");
    function update() {
      var on = select.value === "custom";
      custom.hidden = !on;
      date.required = on;
    }
    select.addEventListener("change", update);
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

  // A form sent back with errors: focus starts at the error summary, which
  // says what was wrong and links to each field to fix; following a link
  // puts focus in that field (the one its message describes), not only
  // scrolls to it.
  function focusFirstError() {
    var summary = document.getElementById("form-error");
    if (!summary) {
      // A page that stops to ask (a change that affects existing tokens,
      // nothing saved yet) starts at what it asks about.
      var stop = document.querySelector("[data-focus-on-load]");
      if (stop) { stop.focus(); }
      return;
    }
    summary.querySelectorAll("a[data-field-error]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var id = link.getAttribute("data-field-error");
        var described = document.querySelector("[aria-describedby~=\"" + id + "\"]");
        if (described && described.matches("fieldset")) {
          described = described.querySelector("input:not([type=hidden]), select, textarea");
        }
        if (!described) { return; }
        event.preventDefault();
        described.focus();
      });
    });
    summary.focus(); // runs after setupExpiry: a custom date in error shows
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
    announceNotices();
  });
})();
