/*
 * Character counters for text fields with a length limit (a maxlength attribute), after
 * the GOV.UK character count: a visible count that updates as the user types, and a
 * screen-reader message that waits for a pause so it does not interrupt every keystroke.
 * Loaded with <script defer>; no inline script or style, so it works under the CSP.
 */
(function () {
  "use strict";

  var SELECTOR = 'input[maxlength]:not([type="hidden"]):not([type="search"]):not([data-counter="off"]),' +
    'textarea[maxlength]:not([data-counter="off"])';
  var PAUSE_MS = 1000;
  var WARN_AT = 0.9;

  function message(remaining) {
    if (remaining < 0) {
      var over = -remaining;
      return "You have " + over + " character" + (over === 1 ? "" : "s") + " too many";
    }
    return "You have " + remaining + " character" + (remaining === 1 ? "" : "s") + " remaining";
  }

  function attach(field, index) {
    var limit = parseInt(field.getAttribute("maxlength"), 10);
    if (!limit || field.dataset.counterAttached) {
      return;
    }
    field.dataset.counterAttached = "true";
    var id = (field.id || "field-" + index) + "-counter";

    var visible = document.createElement("div");
    visible.className = "form-text char-counter";
    visible.setAttribute("aria-hidden", "true");

    var spoken = document.createElement("div");
    spoken.className = "visually-hidden";
    spoken.id = id;
    spoken.setAttribute("aria-live", "polite");

    var describedBy = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", describedBy ? describedBy + " " + id : id);
    // After the field's message and hint when the field has a wrapper, so an error stays next to the field.
    var wrapper = field.closest('[id^="div_id_"]');
    if (wrapper) {
      wrapper.appendChild(visible);
      wrapper.appendChild(spoken);
    } else {
      field.insertAdjacentElement("afterend", spoken);
      field.insertAdjacentElement("afterend", visible);
    }

    var timer = null;
    function update(announce) {
      var remaining = limit - field.value.length;
      visible.textContent = message(remaining);
      visible.classList.toggle("text-danger", field.value.length >= limit * WARN_AT);
      window.clearTimeout(timer);
      if (announce) {
        timer = window.setTimeout(function () {
          spoken.textContent = message(remaining);
        }, PAUSE_MS);
      } else {
        spoken.textContent = "You can enter up to " + limit + " characters";
      }
    }
    field.addEventListener("input", function () {
      update(true);
    });
    update(false);
  }

  function attachAll(root) {
    var fields = (root || document).querySelectorAll(SELECTOR);
    for (var i = 0; i < fields.length; i++) {
      attach(fields[i], i);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      attachAll(document);
    });
  } else {
    attachAll(document);
  }
  // Fragments swapped in by htmx get counters too.
  document.addEventListener("htmx:load", function (event) {
    attachAll(event.target);
  });
})();
