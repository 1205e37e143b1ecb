/*
 * A PDSA cycle's plan: add and remove rows of the tasks table (who, what, when, where).
 *
 * Without JavaScript the page already offers spare blank rows, and blank rows are ignored
 * when the form is saved. With it, "Add a task" copies the row template with the next
 * index, and "Remove" takes a row out, moving focus to the add button. New inputs get
 * their character counters from counters.js, which listens for htmx:load.
 * Loaded with <script defer>; no inline script or style, so it works under the CSP.
 */
(function () {
  "use strict";

  function addRow(button) {
    var tableId = button.getAttribute("data-task-add");
    var table = document.getElementById(tableId);
    var template = document.getElementById(tableId + "-new-row");
    if (!table || !template) {
      return;
    }
    var index = parseInt(table.getAttribute("data-task-next"), 10) || 0;
    table.setAttribute("data-task-next", String(index + 1));
    var holder = document.createElement("template");
    holder.innerHTML = template.innerHTML.split("__row__").join(String(index));
    var row = holder.content.firstElementChild;
    table.tBodies[0].appendChild(row);
    showJsControls(row);
    row.dispatchEvent(new CustomEvent("htmx:load", {bubbles: true}));
    var first = row.querySelector("input");
    if (first) {
      first.focus();
    }
  }

  function removeRow(button) {
    var row = button.closest("tr");
    var fieldset = row.closest("fieldset");
    row.remove();
    var add = fieldset ? fieldset.querySelector("[data-task-add]") : null;
    if (add) {
      add.focus();
    }
  }

  function showJsControls(root) {
    var hidden = root.querySelectorAll("[data-task-js][hidden]");
    for (var i = 0; i < hidden.length; i++) {
      hidden[i].hidden = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (!button) {
      return;
    }
    if (button.hasAttribute("data-task-add")) {
      addRow(button);
    } else if (button.hasAttribute("data-task-remove")) {
      removeRow(button);
    }
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
