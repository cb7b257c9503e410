// The page editor (edit.html, conflict.html): formatting toolbar, live preview, Ctrl+S,
// a warning before leaving unsaved text, and a local draft in localStorage.
// Without this file the form still works as a plain textarea that posts.
(() => {
  "use strict";

  const form = document.getElementById("editor");
  const textarea = form?.querySelector('textarea[name="markdown"]');
  if (!form || !textarea) return;

  const PREVIEW_DELAY = 300; // ms after the last keystroke
  const DRAFT_DELAY = 1000;

  const preview = form.querySelector(".preview");
  const offer = form.querySelector(".draft-offer");
  const baseInput = form.querySelector('input[name="base"]');
  const csrfToken = form.querySelector('input[name="csrf_token"]')?.value || "";
  const draftKey = form.dataset.draftKey || "";
  const loadedText = textarea.value;
  let submitting = false;

  function debounce(fn, delay) {
    let timer = 0;
    const run = () => {
      timer = 0;
      fn();
    };
    const debounced = () => {
      clearTimeout(timer);
      timer = setTimeout(run, delay);
    };
    debounced.cancel = () => {
      clearTimeout(timer);
      timer = 0;
    };
    debounced.flush = () => {
      if (timer) {
        clearTimeout(timer);
        run();
      }
    };
    return debounced;
  }

  // --- editing the text ---------------------------------------------------------------

  // Replace [start, end) with `text` and select [selStart, selEnd) afterwards. execCommand
  // keeps the browser's undo history (setRangeText would wipe it) and fires "input".
  function replaceRange(start, end, text, selStart, selEnd) {
    textarea.focus();
    if (start !== end || text) {
      const expected = textarea.value.slice(0, start) + text + textarea.value.slice(end);
      textarea.setSelectionRange(start, end);
      let done = false;
      try {
        done = document.execCommand(text ? "insertText" : "delete", false, text);
      } catch {
        done = false;
      }
      if (!done || textarea.value !== expected) {
        textarea.value = expected;
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
    textarea.setSelectionRange(selStart, selEnd);
  }

  // data-wrap="**" wraps as **selection**; data-wrap="[[|]]" splits at "|": [[selection]].
  function wrap(marker) {
    const cut = marker.indexOf("|");
    const before = cut >= 0 ? marker.slice(0, cut) : marker;
    const after = cut >= 0 ? marker.slice(cut + 1) : marker;
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    const selected = value.slice(start, end);

    // Clicking again on wrapped text unwraps it, but "*" must not take one star off
    // "**bold**".
    const outside = (from, to) => value.slice(Math.max(from, 0), to);
    const wrapped = start >= before.length &&
      outside(start - before.length, start) === before &&
      outside(end, end + after.length) === after;
    const doubled = before === after &&
      outside(start - 2 * before.length, start - before.length) === before &&
      outside(end + after.length, end + 2 * after.length) === after;
    if (wrapped && !doubled) {
      replaceRange(start - before.length, end + after.length, selected,
        start - before.length, end - before.length);
      return;
    }
    replaceRange(start, end, before + selected + after,
      start + before.length, start + before.length + selected.length);
  }

  // data-prefix="## " puts the prefix before every line touched by the selection, or takes
  // it away when all of them have it already.
  function prefixLines(prefix) {
    const { selectionStart: start, value } = textarea;
    let end = textarea.selectionEnd;
    // A selection ending at the very start of a line does not include that line.
    if (end > start && value[end - 1] === "\n") end -= 1;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    let lineEnd = value.indexOf("\n", end);
    if (lineEnd < 0) lineEnd = value.length;
    const lines = value.slice(lineStart, lineEnd).split("\n");
    const all = lines.every((line) => line.startsWith(prefix));
    const changed = lines
      .map((line) => (all ? line.slice(prefix.length) : prefix + line))
      .join("\n");
    if (lines.length === 1) {
      // One line: keep the caret where it was, shifted by the prefix.
      const shift = all ? -prefix.length : prefix.length;
      const caret = (pos) => Math.max(lineStart, pos + shift);
      replaceRange(lineStart, lineEnd, changed, caret(start), caret(textarea.selectionEnd));
    } else {
      replaceRange(lineStart, lineEnd, changed, lineStart, lineStart + changed.length);
    }
  }

  // data-insert="table" / "rule": a block of its own, on its own lines, at the cursor.
  function insertBlock(kind, button) {
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    let block = "---";
    if (kind === "table") {
      const head = button.dataset.table || "Column";
      block = `| ${head} 1 | ${head} 2 | ${head} 3 |\n|---|---|---|\n|   |   |   |\n|   |   |   |`;
    }
    const before = start === 0 || value.slice(0, start).endsWith("\n\n") ? ""
      : value.slice(0, start).endsWith("\n") ? "\n" : "\n\n";
    const after = value.slice(end).startsWith("\n") ? "\n" : "\n\n";
    const text = before + block + after;
    const caret = start + before.length + (kind === "table" ? 2 : block.length);
    replaceRange(start, end, text, caret, kind === "table" ? caret + (button.dataset.table
      || "Column").length + 2 : caret);
  }

  form.querySelector(".toolbar")?.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    event.preventDefault();
    if (button.dataset.wrap !== undefined) wrap(button.dataset.wrap);
    else if (button.dataset.prefix !== undefined) prefixLines(button.dataset.prefix);
    else if (button.dataset.insert !== undefined) insertBlock(button.dataset.insert, button);
  });

  // --- Write / Preview tabs on narrow screens -------------------------------------------

  const tabs = form.querySelector(".editor-tabs");
  if (tabs && preview) {
    const narrow = window.matchMedia("(max-width: 700px)");
    const select = (which) => {
      form.classList.toggle("show-preview", which === "preview");
      tabs.querySelectorAll("button").forEach((tab) => {
        tab.setAttribute("aria-selected", String(tab.dataset.tab === which));
      });
      if (which === "preview") updatePreview();
    };
    const follow = () => {
      tabs.hidden = !narrow.matches;
      form.classList.toggle("tabbed", narrow.matches);
      if (!narrow.matches) select("write");
    };
    tabs.addEventListener("click", (event) => {
      const tab = event.target.closest("button[data-tab]");
      if (tab) select(tab.dataset.tab);
    });
    narrow.addEventListener("change", follow);
    follow();
  }

  // --- preview follows the cursor -------------------------------------------------------

  // The preview scrolls to the same fraction of the text as the caret (a simple sync that
  // needs no source map, good enough for pages of ordinary length).
  function syncPreview() {
    if (!preview || form.classList.contains("tabbed")) return;
    const fraction = textarea.value.length
      ? textarea.selectionStart / textarea.value.length : 0;
    preview.scrollTop = fraction * (preview.scrollHeight - preview.clientHeight);
  }
  textarea.addEventListener("keyup", syncPreview);
  textarea.addEventListener("click", syncPreview);
  textarea.addEventListener("scroll", () => {
    if (!preview || form.classList.contains("tabbed")) return;
    const max = textarea.scrollHeight - textarea.clientHeight;
    if (max > 0) {
      preview.scrollTop = (textarea.scrollTop / max) *
        (preview.scrollHeight - preview.clientHeight);
    }
  });

  // --- live preview ---------------------------------------------------------------------

  let previewController = null;
  let lastPreviewed = null;

  async function updatePreview() {
    const url = form.dataset.previewUrl;
    const text = textarea.value;
    if (!preview || !url || text === lastPreviewed) return;
    previewController?.abort();
    const controller = new AbortController();
    previewController = controller;
    preview.classList.add("stale");
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          Accept: "application/json",
          "X-CSRFToken": csrfToken,
        },
        body: new URLSearchParams({ markdown: text, csrf_token: csrfToken,
                                    name: form.dataset.page || "" }),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`preview: HTTP ${response.status}`);
      const data = await response.json();
      if (controller !== previewController) return; // a newer request is under way
      // The server sanitizes the HTML (wiki/render.py); the CSP blocks anything inline.
      preview.innerHTML = typeof data.html === "string" ? data.html : "";
      preview.classList.remove("failed");
      lastPreviewed = text;
    } catch (error) {
      if (error.name === "AbortError") return;
      preview.classList.add("failed");
    } finally {
      if (controller === previewController) {
        preview.classList.remove("stale");
        previewController = null;
      }
    }
  }

  const schedulePreview = debounce(updatePreview, PREVIEW_DELAY);

  // --- local draft ----------------------------------------------------------------------

  function readDraft() {
    if (!draftKey) return null;
    try {
      const draft = JSON.parse(localStorage.getItem(draftKey) || "null");
      return draft && typeof draft.text === "string" ? draft : null;
    } catch {
      return null; // storage disabled, or not our JSON
    }
  }

  function removeDraft() {
    try {
      if (draftKey) localStorage.removeItem(draftKey);
    } catch {
      /* storage disabled */
    }
  }

  function saveDraft() {
    if (!draftKey || submitting) return;
    if (textarea.value === loadedText) {
      removeDraft(); // back to what is saved: nothing to keep
      return;
    }
    const draft = {
      text: textarea.value,
      base: form.dataset.base ?? baseInput?.value ?? "",
      saved: Date.now(),
    };
    try {
      localStorage.setItem(draftKey, JSON.stringify(draft));
    } catch {
      /* storage full or disabled: the draft is a convenience */
    }
  }

  const scheduleDraft = debounce(saveDraft, DRAFT_DELAY);

  function offerDraft() {
    const draft = readDraft();
    if (!draft) return;
    if (draft.text === textarea.value) {
      removeDraft();
      return;
    }
    if (!offer) return; // conflict view: nowhere to offer it; keep it for the editor
    const when = new Date(Number(draft.saved) || 0);
    const time = offer.querySelector("time");
    if (time && !Number.isNaN(when.getTime())) {
      time.dateTime = when.toISOString();
      time.textContent = when.toLocaleString(document.documentElement.lang || undefined, {
        dateStyle: "medium",
        timeStyle: "short",
      });
    }
    offer.hidden = false;

    offer.querySelector(".restore-draft")?.addEventListener("click", () => {
      replaceRange(0, textarea.value.length, draft.text, 0, 0);
      // Save against the revision the draft was written on, so the server merges in
      // whatever others saved since instead of the draft silently undoing it.
      // (A draft of a page that did not exist yet has no base: keep the current one.)
      if (baseInput && typeof draft.base === "string" && draft.base) baseInput.value = draft.base;
      offer.hidden = true;
      textarea.focus();
    });
    offer.querySelector(".discard-draft")?.addEventListener("click", () => {
      removeDraft();
      offer.hidden = true;
      textarea.focus();
    });
  }

  // --- events ---------------------------------------------------------------------------

  textarea.addEventListener("input", () => {
    schedulePreview();
    scheduleDraft();
  });

  form.addEventListener("submit", () => {
    submitting = true;
    scheduleDraft.cancel();
    removeDraft();
  });

  // Ctrl/Cmd + B, I, K in the text: the same as the bold, italic and page-link buttons.
  const shortcuts = { b: '[data-wrap="**"]', i: '[data-wrap="*"]', k: '[data-wrap="[[|]]"]' };
  textarea.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    const selector = shortcuts[event.key.toLowerCase()];
    const button = selector && form.querySelector(`.toolbar button${selector}`);
    if (!button) return;
    event.preventDefault();
    wrap(button.dataset.wrap);
  });

  // Ctrl+S / Cmd+S saves instead of opening the browser's "save page" dialog.
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    if (event.key.toLowerCase() !== "s") return;
    event.preventDefault();
    if (submitting) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(); // runs validation and the submit handler
    } else if (form.dispatchEvent(new Event("submit", { cancelable: true }))) {
      form.submit();
    }
  });

  window.addEventListener("beforeunload", (event) => {
    if (submitting || textarea.value === loadedText) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to show the dialog
  });

  // Leaving (or the tab being discarded) before the debounced save: keep the last words.
  window.addEventListener("pagehide", () => scheduleDraft.flush());

  offerDraft();
  updatePreview();
})();
