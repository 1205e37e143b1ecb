/*
 * The online workbook: each section saves itself as people type.
 *
 * A section's form posts ~1.5 seconds after typing stops, when a field loses focus, and
 * when a box is ticked. Saves of one section go one at a time, each naming the version
 * the page holds. The server answers with the section's fragment: after a save (200) or a
 * refusal (422) only the parts marked data-wb-live are copied in (messages, version,
 * status), never the fields someone is typing in. A conflict (409) swaps in both versions
 * side by side, keeps what was typed, and pauses autosave for that section until its
 * merge is saved. When the network or the server fails, the text stays in the page and
 * the save is retried with backoff; leaving the page warns while anything is unsaved.
 *
 * Loaded with <script defer> by the workbook page only: no inline script, no eval.
 */
(function () {
  "use strict";

  var SAVE_AFTER_MS = 1500;
  var FIRST_RETRY_MS = 2000;
  var LONGEST_RETRY_MS = 60000;
  var NEAR_LIMIT = 0.8;
  var TEXT = {
    unsaved: "Not saved yet",
    saving: "Saving…",
    offline: "Not saved: you are offline. Retrying…",
    serverError: "Not saved: the service is not answering. Retrying…",
    signedOut: "Not saved: you have been signed out. Sign in again in a new tab; your text stays here. Retrying…",
    refused: "Not saved: you can no longer change this section. Copy your text somewhere safe, then reload the page."
  };

  var states = {};

  function stateFor(key) {
    if (!states[key]) {
      states[key] = {
        timer: null,
        retryTimer: null,
        retryDelay: FIRST_RETRY_MS,
        inFlight: false,
        queued: false,
        queuedExplicit: false,
        dirty: false,
        failed: false,
        signedOut: false,
        stopped: false,
        refused: false,
        lastSaved: "",
        savedStatus: ""
      };
    }
    return states[key];
  }

  function sectionOf(key) {
    return document.getElementById("section-" + key);
  }

  function formOf(key) {
    var section = sectionOf(key);
    return section ? section.querySelector("form[data-wb-form]") : null;
  }

  function inConflict(key) {
    var section = sectionOf(key);
    return Boolean(section && section.hasAttribute("data-wb-conflict"));
  }

  // What the form would save, leaving out the version and the token, to tell whether anything changed.
  function snapshot(form) {
    var data = new FormData(form);
    data.delete("version");
    data.delete("csrfmiddlewaretoken");
    return new URLSearchParams(data).toString();
  }

  function setStatus(key, text, tone) {
    var status = document.getElementById(key + "-status");
    if (!status) {
      return;
    }
    if (status.textContent !== text) {
      status.textContent = text;  // only when it changes: screen readers need not hear it again
    }
    status.classList.toggle("text-danger", tone === "error");
    status.classList.toggle("fw-bold", tone === "error");
    status.classList.toggle("text-body-secondary", tone !== "error");
  }

  // Counters: "120 of 2,000 characters"; a table cell's or cause's counter shows only near its limit.

  function countText(length, limit) {
    var text = length.toLocaleString("en-GB") + " of " + limit.toLocaleString("en-GB") + " characters";
    if (length > limit) {
      text += ": " + (length - limit).toLocaleString("en-GB") + " too many";
    }
    return text;
  }

  function updateCounter(field) {
    var limit = parseInt(field.getAttribute("data-wb-limit"), 10);
    var counter = field.id ? document.getElementById(field.id + "-count") : null;
    if (!limit || !counter) {
      return;
    }
    var length = field.value.length;
    counter.textContent = countText(length, limit);
    counter.classList.toggle("text-danger", length > limit);
    if (counter.hasAttribute("data-wb-count-near")) {
      counter.classList.toggle("d-none", length < limit * NEAR_LIMIT);
    }
  }

  // Saving

  function changed(key) {
    var state = stateFor(key);
    state.dirty = true;
    if (inConflict(key) || state.stopped) {
      return;
    }
    if (!state.inFlight && !state.failed) {
      setStatus(key, TEXT.unsaved, "pending");
    }
    if (!state.failed) {
      window.clearTimeout(state.timer);
      state.timer = window.setTimeout(function () {
        save(key, false);
      }, SAVE_AFTER_MS);
    }
  }

  function save(key, explicit) {
    var state = stateFor(key);
    var form = formOf(key);
    if (!form || state.stopped || (inConflict(key) && !explicit)) {
      return;
    }
    window.clearTimeout(state.timer);
    if (state.inFlight) {
      state.queued = true;
      state.queuedExplicit = state.queuedExplicit || explicit;
      return;
    }
    var sent = snapshot(form);
    if (!explicit && !state.failed && !state.refused && sent === state.lastSaved) {
      state.dirty = false;
      setStatus(key, state.savedStatus, "saved");
      return;
    }
    window.clearTimeout(state.retryTimer);
    state.inFlight = true;
    if (!state.failed) {
      setStatus(key, TEXT.saving, "pending");
    }
    var request = fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: {"HX-Request": "true", "Accept": "text/html"}
    });
    request
      .then(function (response) {
        return response.text().then(function (html) {
          settle(key, response, html, sent, explicit);
        });
      })
      .catch(function () {
        fail(key, TEXT.offline);  // no answer, or the answer broke off: the text is still in the page
      })
      .then(finish);

    function finish() {
      state.inFlight = false;
      if (state.queued) {
        var again = state.queuedExplicit;
        state.queued = false;
        state.queuedExplicit = false;
        if (state.dirty && !state.failed) {
          save(key, again);
        }
      }
    }
  }

  function settle(key, response, html, sent, explicit) {
    var state = stateFor(key);
    if ((response.redirected && new URL(response.url).pathname.indexOf("/account/") === 0) ||
        response.status === 403) {
      state.signedOut = true;
      fail(key, TEXT.signedOut);
      return;
    }
    if (response.status === 404 || response.status === 405) {
      state.stopped = true;
      state.failed = false;
      setStatus(key, TEXT.refused, "error");
      return;
    }
    if (response.status >= 500 || [200, 409, 422].indexOf(response.status) < 0) {
      fail(key, TEXT.serverError);
      return;
    }
    state.failed = false;
    state.retryDelay = FIRST_RETRY_MS;
    var answer = fragment(html);
    if (response.status === 409) {
      showConflict(key, answer);
      return;
    }
    if (response.status === 200 && inConflict(key)) {
      // The merge is saved: back to the ordinary section, saving as the user types again.
      replaceSection(key, answer);
      state.dirty = false;
      state.refused = false;
      return;
    }
    var form = formOf(key);
    patch(answer);
    state.refused = response.status === 422;
    if (response.status === 200) {
      state.lastSaved = sent;
      state.savedStatus = document.getElementById(key + "-status").textContent;
      state.dirty = snapshot(form) !== sent;
      if (state.dirty) {
        setStatus(key, TEXT.unsaved, "pending");
      }
    } else {
      state.dirty = true;
      if (explicit) {
        focusSummary(key);
      }
    }
  }

  function fail(key, message) {
    var state = stateFor(key);
    state.failed = true;
    state.dirty = true;
    setStatus(key, message, "error");
    window.clearTimeout(state.retryTimer);
    state.retryTimer = window.setTimeout(function () {
      retry(key);
    }, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, LONGEST_RETRY_MS);
  }

  function retry(key) {
    var state = stateFor(key);
    if (!state.signedOut) {
      save(key, false);
      return;
    }
    // After signing in again the old form token is no longer valid: fetch the page for a fresh one.
    fetch(window.location.pathname, {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok || new URL(response.url).pathname.indexOf("/account/") === 0) {
          throw new Error("still signed out");
        }
        return response.text();
      })
      .then(function (html) {
        var token = fragment(html).querySelector('input[name="csrfmiddlewaretoken"]');
        if (!token) {
          throw new Error("no token");
        }
        var inputs = document.querySelectorAll('form[data-wb-form] input[name="csrfmiddlewaretoken"]');
        for (var i = 0; i < inputs.length; i++) {
          inputs[i].value = token.value;
        }
        state.signedOut = false;
        save(key, false);
      })
      .catch(function () {
        fail(key, TEXT.signedOut);
      });
  }

  // Taking in the server's answer

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Copy the live parts (messages, version, status) into the page, leaving the fields alone.
  // A box ticked inside a live part (the patient-data confirmation) keeps the user's choice.
  function patch(answer) {
    var parts = answer.querySelectorAll("[data-wb-live][id]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      var target = document.getElementById(part.id);
      if (!target) {
        continue;
      }
      target.className = part.className;
      if (part.getAttribute("data-wb-live") === "class") {
        continue;
      }
      if (target.tagName === "INPUT") {
        target.value = part.value;
        continue;
      }
      var ticked = {};
      Array.prototype.forEach.call(target.querySelectorAll("input[type=checkbox][id]"), function (box) {
        ticked[box.id] = box.checked;
      });
      target.innerHTML = part.innerHTML;
      Array.prototype.forEach.call(target.querySelectorAll("input[type=checkbox][id]"), function (box) {
        if (Object.prototype.hasOwnProperty.call(ticked, box.id)) {
          box.checked = ticked[box.id];
        }
      });
    }
  }

  function typedTexts(form) {
    var typed = {};
    var fields = form ? form.querySelectorAll('textarea[name], input[type="text"][name]') : [];
    for (var i = 0; i < fields.length; i++) {
      typed[fields[i].name] = fields[i].value;
    }
    return typed;
  }

  function replaceSection(key, answer) {
    var fresh = answer.querySelector("#section-" + key);
    var old = sectionOf(key);
    if (!fresh || !old) {
      return null;
    }
    old.replaceWith(fresh);
    enhance(fresh);
    return fresh;
  }

  function showConflict(key, answer) {
    var state = stateFor(key);
    var typed = typedTexts(formOf(key));
    if (!replaceSection(key, answer)) {
      return;
    }
    // Anything typed while the save was on its way is kept too.
    var fields = formOf(key).querySelectorAll('textarea[name], input[type="text"][name]');
    for (var i = 0; i < fields.length; i++) {
      if (Object.prototype.hasOwnProperty.call(typed, fields[i].name)) {
        fields[i].value = typed[fields[i].name];
        updateCounter(fields[i]);
      }
    }
    state.dirty = true;
    var message = document.getElementById(key + "-conflict");
    if (message) {
      message.focus();
    }
  }

  function focusSummary(key) {
    var summary = document.querySelector("#" + key + "-errors .error-summary");
    if (summary) {
      summary.focus();
    }
  }

  // Rows, headings and causes added and removed inline

  function newId() {
    var bytes = new Uint8Array(4);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function fromTemplate(id, replacements) {
    var template = document.getElementById(id);
    var html = template.innerHTML;
    Object.keys(replacements).forEach(function (placeholder) {
      html = html.split(placeholder).join(String(replacements[placeholder]));
    });
    var element = fragment(html).firstElementChild;
    return element;
  }

  function nextIndex(container) {
    var index = parseInt(container.getAttribute("data-wb-next"), 10) || 0;
    container.setAttribute("data-wb-next", String(index + 1));
    return index;
  }

  function firstField(element) {
    return element.querySelector('input[type="text"], textarea');
  }

  function addRow(button) {
    var fieldId = button.getAttribute("data-wb-add-row");
    var table = document.getElementById(fieldId);
    var row = fromTemplate(fieldId + "-new-row", {"__row__": nextIndex(table)});
    table.tBodies[0].appendChild(row);
    enhance(row);
    firstField(row).focus();
  }

  function addHeading(button) {
    var fieldId = button.getAttribute("data-wb-add-heading");
    var headings = document.querySelector('[data-wb-headings="' + fieldId + '"]');
    var heading = fromTemplate(fieldId + "-new-heading", {"__heading__": nextIndex(headings)});
    headings.appendChild(heading);
    enhance(heading);
    firstField(heading).focus();
  }

  function addCause(button) {
    var fieldId = button.getAttribute("data-wb-add-cause");
    var causes = button.closest("[data-wb-heading]").querySelector("[data-wb-causes]");
    var cause = fromTemplate(fieldId + "-new-cause", {
      "__heading__": causes.getAttribute("data-wb-heading-index"),
      "__cause__": nextIndex(causes)
    });
    causes.appendChild(cause);
    enhance(cause);
    firstField(cause).focus();
  }

  // Remove a row, heading or cause, and move focus to the button that adds another.
  function remove(button, itemSelector, scopeSelector, nextSelector) {
    var item = button.closest(itemSelector);
    var scope = item.parentElement.closest(scopeSelector) || document;
    var next = scope.querySelector(nextSelector);
    item.remove();
    if (next) {
      next.focus();
    }
  }

  // Setting up a section (on load, and whenever one is swapped in)

  function enhance(root) {
    var hidden = root.querySelectorAll("[data-wb-js][hidden]");
    for (var i = 0; i < hidden.length; i++) {
      hidden[i].hidden = false;
    }
    var ids = root.querySelectorAll("[data-wb-new-id]");
    for (var j = 0; j < ids.length; j++) {
      if (!ids[j].value) {
        ids[j].value = newId();
      }
    }
    var forms = root.matches && root.matches("form[data-wb-form]") ? [root] : root.querySelectorAll("form[data-wb-form]");
    for (var k = 0; k < forms.length; k++) {
      var key = forms[k].getAttribute("data-wb-key");
      var state = stateFor(key);
      state.lastSaved = snapshot(forms[k]);
      var status = document.getElementById(key + "-status");
      if (status && !inConflict(key)) {
        state.savedStatus = status.textContent;
      }
    }
  }

  function keyOf(element) {
    var form = element.closest ? element.closest("form[data-wb-form]") : null;
    return form ? form.getAttribute("data-wb-key") : null;
  }

  document.addEventListener("input", function (event) {
    var key = keyOf(event.target);
    if (!key || event.target.type === "checkbox") {
      return;
    }
    updateCounter(event.target);
    changed(key);
  });

  document.addEventListener("change", function (event) {
    var key = keyOf(event.target);
    if (key && event.target.type === "checkbox") {
      changed(key);
      save(key, false);
    }
  });

  // Also save when a field loses focus, if it changed since the last save.
  document.addEventListener("focusout", function (event) {
    var key = keyOf(event.target);
    if (key && stateFor(key).dirty && !stateFor(key).failed) {
      save(key, false);
    }
  });

  document.addEventListener("submit", function (event) {
    var key = keyOf(event.target);
    if (!key) {
      return;
    }
    event.preventDefault();
    stateFor(key).failed = false;
    save(key, true);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button, a") : null;
    if (!button) {
      return;
    }
    var key = keyOf(button);
    if (button.hasAttribute("data-wb-add-row")) {
      addRow(button);
    } else if (button.hasAttribute("data-wb-add-heading")) {
      addHeading(button);
    } else if (button.hasAttribute("data-wb-add-cause")) {
      addCause(button);
    } else if (button.hasAttribute("data-wb-remove-row")) {
      remove(button, "tr", "fieldset", "[data-wb-add-row]");
      changed(key);
    } else if (button.hasAttribute("data-wb-remove-cause")) {
      remove(button, "li", "[data-wb-heading]", "[data-wb-add-cause]");
      changed(key);
    } else if (button.hasAttribute("data-wb-remove-heading")) {
      remove(button, "[data-wb-heading]", "fieldset", "[data-wb-add-heading]");
      changed(key);
    } else if (button.hasAttribute("data-wb-discard")) {
      var state = stateFor(button.getAttribute("data-wb-discard"));
      state.dirty = false;
      state.failed = false;
      window.clearTimeout(state.retryTimer);
      // The link points at this page: load it afresh, as a jump to the section alone would not.
      event.preventDefault();
      if (button.pathname === window.location.pathname) {
        window.location.reload();
      } else {
        window.location.assign(button.href);
      }
    } else if (button.tagName === "A" && button.closest(".error-summary") &&
               (button.getAttribute("href") || "").charAt(0) === "#") {
      var target = document.getElementById(button.getAttribute("href").slice(1));
      if (target) {
        event.preventDefault();
        target.focus();
      }
    }
  });

  window.addEventListener("beforeunload", function (event) {
    var keys = Object.keys(states);
    for (var i = 0; i < keys.length; i++) {
      var state = states[keys[i]];
      if (state.dirty || state.inFlight || state.failed) {
        event.preventDefault();
        event.returnValue = "";
        return "";
      }
    }
    return undefined;
  });

  window.addEventListener("online", function () {
    Object.keys(states).forEach(function (key) {
      var state = states[key];
      if (state.failed) {
        window.clearTimeout(state.retryTimer);
        state.retryDelay = FIRST_RETRY_MS;
        retry(key);
      }
    });
  });

  function start() {
    enhance(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
