// Poplist: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Elements with data-poll="URL" replace their content with the fragment at URL every second
  // until the fragment carries data-done.
  function poll(el) {
    var url = el.getAttribute("data-poll");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        el.innerHTML = html;
        if (!el.querySelector("[data-done]")) { setTimeout(function () { poll(el); }, 700); }
      })
      .catch(function () { setTimeout(function () { poll(el); }, 2000); });
  }
  // Forms with data-confirm ask before submitting (removals, suspensions).
  document.addEventListener("submit", function (event) {
    var form = event.target, question = form.getAttribute("data-confirm");
    var submitter = event.submitter;
    if (submitter && submitter.getAttribute("data-confirm")) { question = submitter.getAttribute("data-confirm"); }
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // "Select all" checkboxes in member tables.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("[data-check-all]")) {
      document.querySelectorAll(box.getAttribute("data-check-all")).forEach(function (other) { other.checked = box.checked; });
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      if (!el.querySelector("[data-done]")) { poll(el); }
    });
  });
})();
