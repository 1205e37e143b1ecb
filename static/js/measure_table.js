/*
 * The measure page's data table, edited in place with htmx.
 *
 * A refused row comes back with status 422 and its messages: htmx leaves 4xx answers
 * unswapped by default, so they are let through here. After a swap the focus goes where
 * the user expects it: into a row that has just become a form, to the first field with a
 * message, or back to the "add a value" row after a value was added.
 *
 * Loaded with <script defer> by the measure page for people who can edit; no inline script, no eval.
 */
(function () {
  "use strict";

  function inTable(element) {
    return element && element.closest && element.closest("table.measure-values");
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422 && inTable(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // After the settle: the element swapped in has its own attributes by then (htmx keeps the old ones until it settles).
    var target = event.target;
    if (!target.isConnected || !inTable(target)) {
      return;
    }
    var focus = target.querySelector(".is-invalid") ||
      (target.classList.contains("value-editing") ? target.querySelector("input:not([type=hidden])") : null);
    if (!focus && event.detail.requestConfig && event.detail.requestConfig.verb === "post" &&
        target.id === "add-value-body") {
      focus = target.querySelector("input[type=date]");
    }
    if (!focus && target.matches && target.matches("tr[id^='value-']")) {
      focus = target.querySelector("a, button");
    }
    if (focus) {
      focus.focus();
    }
  });
})();
