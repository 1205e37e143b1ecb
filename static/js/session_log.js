/*
 * The coaching session log: saving as the coach types, and adding or removing action rows.
 *
 * htmx posts the form to the autosave address 1.5 seconds after typing stops (hx-trigger on
 * the form), one save at a time (hx-sync). The answer holds out-of-band parts only: the status
 * line, the new version, the ids of action rows it saved; never the fields. A refusal (422)
 * or a stale save (409) is let through to show its message: after a 409 the log stops saving
 * itself, so two tabs never overwrite each other without the coach choosing to, and what was
 * typed stays on the page. The form's own buttons post the whole page; a save in flight is
 * finished first, so the page posts the version the server holds.
 *
 * Without JavaScript the page offers three blank action rows and the same buttons.
 * Loaded with <script defer>; no inline script or style, so it works under the CSP.
 */
(function () {
  "use strict";

  var state = {inFlight: false, edits: 0, sentEdits: 0, dirty: false, leaving: false, pendingSubmitter: null};

  function logForm() {
    return document.querySelector("form[data-sl-form]");
  }

  function isOurs(event) {
    var form = logForm();
    return form && event.detail && event.detail.elt === form;
  }

  function setStatus(text, isError) {
    var status = document.getElementById("autosave-status");
    if (!status) {
      return;
    }
    status.textContent = text;
    styleStatus(isError);
  }

  function styleStatus(isError) {
    var status = document.getElementById("autosave-status");
    if (!status) {
      return;
    }
    status.classList.toggle("text-danger", Boolean(isError));
    status.classList.toggle("fw-bold", Boolean(isError));
    status.classList.toggle("text-body-secondary", !isError);
  }

  function showJsControls(root) {
    var hidden = root.querySelectorAll("[data-sl-js][hidden]");
    for (var i = 0; i < hidden.length; i++) {
      hidden[i].hidden = false;
    }
  }

  function changed() {
    var form = logForm();
    state.edits += 1;
    state.dirty = true;
    if (form && form.hasAttribute("hx-post") && !form.hasAttribute("data-sl-paused")) {
      setStatus("Not saved yet", false);
    }
  }

  // Action rows

  function addRow() {
    var table = document.getElementById("actions-table");
    var template = document.getElementById("actions-new-row");
    if (!table || !template) {
      return;
    }
    var index = parseInt(table.getAttribute("data-sl-next"), 10) || 0;
    table.setAttribute("data-sl-next", String(index + 1));
    var holder = document.createElement("template");
    holder.innerHTML = template.innerHTML.split("__row__").join(String(index)).split("new action").join(
      "action " + (index + 1));
    var row = holder.content.firstElementChild;
    table.tBodies[0].appendChild(row);
    showJsControls(row);
    row.dispatchEvent(new CustomEvent("htmx:load", {bubbles: true}));  // counters for the new inputs
    var first = row.querySelector('input[type="text"]');
    if (first) {
      first.focus();
    }
  }

  function removeRow(button) {
    var row = button.closest("tr");
    var hadId = row.querySelector('input[name$="-id"]');
    row.remove();
    var add = document.querySelector("[data-sl-add]");
    if (add) {
      add.focus();
    }
    if (hadId && hadId.value) {
      var form = logForm();
      form.dispatchEvent(new Event("input", {bubbles: true}));  // a saved action was removed: save that too
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (!button) {
      return;
    }
    if (button.hasAttribute("data-sl-add")) {
      addRow();
    } else if (button.hasAttribute("data-sl-remove")) {
      removeRow(button);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("form[data-sl-form]")) {
      changed();
    }
  });

  // Saving as the coach types (htmx)

  document.addEventListener("htmx:confirm", function (event) {
    var form = logForm();
    if (isOurs(event) && (form.hasAttribute("data-sl-paused") || state.leaving)) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isOurs(event)) {
      state.inFlight = true;
      state.sentEdits = state.edits;
      setStatus("Saving…", false);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isOurs(event) && [409, 422].indexOf(event.detail.xhr.status) >= 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isOurs(event)) {
      return;
    }
    var form = logForm();
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    state.inFlight = false;
    styleStatus(status === 409 || status === 422);
    if (status === 200 && xhr.responseURL && xhr.responseURL.indexOf("/account/") >= 0) {
      setStatus("Not saved: you have been signed out. Sign in again in a new tab; your text stays here.", true);
    } else if (status === 200) {
      if (state.edits === state.sentEdits) {
        state.dirty = false;
      }
    } else if (status === 409) {
      form.setAttribute("data-sl-paused", "conflict");
    } else if (status !== 422) {
      setStatus("Not saved: the service is not answering. Your text is still here; it saves when you type again.",
        true);
    }
    if (state.pendingSubmitter) {
      var submitter = state.pendingSubmitter;
      state.pendingSubmitter = null;
      form.requestSubmit(submitter);
    }
  });

  // The buttons: wait for a save in flight, then post the page (with the version it now holds).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-sl-form]")) {
      return;
    }
    state.leaving = true;
    if (state.inFlight) {
      event.preventDefault();
      state.pendingSubmitter = event.submitter || null;
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (state.dirty && !state.leaving) {
      event.preventDefault();
      event.returnValue = "";
      return "";
    }
    return undefined;
  });

  function start() {
    showJsControls(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
