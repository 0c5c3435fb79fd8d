// Small enhancements; every page works without them.
(function () {
  "use strict";

  // Fill the time zone from the device, unless the person already chose one.
  function detectZone(root) {
    var select = root.querySelector("select#timezone");
    if (!select || select.dataset.touched || select.dataset.detected) return;
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    select.dataset.detected = "1";
    var form = select.form;
    var chosen = form && form.dataset.zoneChosen;
    if (chosen) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; break; }
    }
  }

  // Show the partner questions only for couples.
  function partnerFields(root) {
    var box = root.querySelector("[data-show-when='kind=couple']");
    if (!box) return;
    var form = box.closest("form");
    function update() {
      var checked = form.querySelector("input[name='kind']:checked");
      box.hidden = !(checked && checked.value === "couple");
    }
    form.querySelectorAll("input[name='kind']").forEach(function (el) {
      el.addEventListener("change", update);
    });
    update();
  }

  // Move focus to the new step's heading or error summary, for screen readers and keyboards.
  function focusFirst(root) {
    var target = root.querySelector("[data-focus]");
    if (target) target.focus({ preventScroll: false });
  }

  // A booking button says what it is doing and cannot be pressed twice.
  function once(root) {
    root.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) {
          setTimeout(function () { button.disabled = true; button.textContent = "Booking…"; }, 0);
        }
      });
    });
  }

  // One-click copy for addresses such as the calendar feed.
  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        if (!input) return;
        input.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done, done); }
        else { document.execCommand("copy"); done(); }
      });
    });
  }

  // A picker whose choice is applied at once when picked with a pointer; from the keyboard
  // (where arrow keys change it step by step) its button applies it.
  function applyOnPick(root) {
    root.querySelectorAll("form[data-apply-on-pick] select").forEach(function (select) {
      var pointer = false;
      select.addEventListener("pointerdown", function () { pointer = true; });
      select.addEventListener("keydown", function () { pointer = false; });
      select.addEventListener("change", function () {
        if (pointer && select.form.requestSubmit) select.form.requestSubmit();
      });
    });
  }

  function enhance(root, focus) {
    copyButtons(root);
    applyOnPick(root);
    detectZone(root);
    partnerFields(root);
    once(root);
    if (focus) focusFirst(root);
  }

  // Leave at once for a neutral site, replacing this page in the history so Back does not
  // return to it: the quick-exit button, or Esc pressed twice.
  function quickExit() {
    var link = document.querySelector("[data-quick-exit]");
    if (!link) return;
    function leave(event) {
      if (event) event.preventDefault();
      document.body.hidden = true;
      window.location.replace(link.href);
    }
    link.addEventListener("click", leave);
    var last = 0;
    document.addEventListener("keydown", function (event) {
      // Not the Esc that closes a drop-down list.
      if (event.key !== "Escape" || (event.target && event.target.tagName === "SELECT")) return;
      var now = Date.now();
      if (now - last < 1000) leave(event);
      last = now;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document, false);
    quickExit();
    // After a plain form's post, the outcome it came back with takes the focus.
    // So do the problems of a form sent back with them.
    var flashes = document.getElementById("flashes");
    if (flashes) flashes.focus({ preventScroll: false });
    var problems = document.querySelector(".error-summary[data-focus]");
    if (problems) problems.focus({ preventScroll: false });
    document.querySelectorAll("select#timezone").forEach(function (s) {
      s.addEventListener("change", function () { s.dataset.touched = "1"; });
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // A page swapped in whole (after its language changed) says its language.
    var marked = document.querySelector("[data-page-lang]");
    if (marked) document.documentElement.lang = marked.getAttribute("data-page-lang");
    var note = document.getElementById("connection-note");
    if (note) note.hidden = true;
    enhance(event.detail.elt || document, true);
  });

  // A request that never reached the server is said out loud, not swallowed.
  // (A part of the page refreshing itself shows it without taking the focus.)
  document.addEventListener("htmx:sendError", function (event) {
    var note = document.getElementById("connection-note");
    if (!note) return;
    note.hidden = false;
    var background = event.detail && event.detail.elt && event.detail.elt.id === "urgent-panel";
    if (!background && note.focus) note.focus();
  });
})();
