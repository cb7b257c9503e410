// Files dropped on or pasted into the page editor (edit.html) are uploaded to the page's
// Attachments and a Markdown link is inserted at the cursor: `![alt](photo.png)` for images,
// `[name](file.pdf)` for other files. A pasted image never replaces an earlier one of the same
// name ("image.png"): the server gives it a free name. Kept apart from editor.js on purpose.
(() => {
  "use strict";

  const script = document.currentScript;
  const form = document.getElementById("editor");
  const textarea = form?.querySelector('textarea[name="markdown"]');
  const uploadUrl = script?.dataset.uploadUrl;
  if (!form || !textarea || !uploadUrl) return;

  const csrfToken = form.querySelector('input[name="csrf_token"]')?.value || "";
  const status = document.createElement("p");
  status.className = "attach-status";
  status.setAttribute("role", "status");
  status.hidden = true;
  textarea.closest(".editor-panes")?.before(status);

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, (all, key) => values[key] ?? all);
  }

  // Insert at the cursor through execCommand, so undo works and editor.js hears "input"
  // (preview, draft, unsaved-changes warning).
  function insertAtCursor(text) {
    textarea.focus();
    let done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch {
      done = false;
    }
    if (!done) {
      const start = textarea.selectionStart;
      textarea.setRangeText(text, start, textarea.selectionEnd, "end");
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function markdownFor(file, name) {
    const target = encodeURI(name).replace(/[()]/g, (c) => "%" + c.charCodeAt(0).toString(16));
    const label = name.replace(/\.[^.]*$/, "").replace(/[[\]\\]/g, "");
    return file.type.startsWith("image/") ? `![${label}](${target})` : `[${label}](${target})`;
  }

  async function upload(file) {
    say(fill(script.dataset.uploading, { file: file.name }));
    const body = new FormData();
    body.append("csrf_token", csrfToken);
    body.append("mode", "keep");
    body.append("file", file, file.name || "image.png");
    let reason = "";
    try {
      const response = await fetch(uploadUrl, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
        credentials: "same-origin",
      });
      if (response.ok) {
        const answer = await response.json();
        insertAtCursor(markdownFor(file, answer.name));
        say("");
        return;
      }
      if (response.status === 413) {
        reason = script.dataset.tooLarge;
      } else {
        const answer = await response.json().catch(() => null);
        reason = answer?.error?.message || `${response.status}`;
      }
    } catch (error) {
      reason = String(error);
    }
    say(fill(script.dataset.failed, { file: file.name, reason }));
  }

  async function uploadAll(files) {
    for (const file of files) {
      await upload(file); // one after another: each is one commit, links in order
    }
  }

  const hasFiles = (transfer) => Array.from(transfer?.types || []).includes("Files");

  textarea.addEventListener("dragover", (event) => {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    textarea.classList.add("dropping");
  });
  textarea.addEventListener("dragleave", () => textarea.classList.remove("dropping"));
  textarea.addEventListener("drop", (event) => {
    textarea.classList.remove("dropping");
    const files = Array.from(event.dataTransfer?.files || []);
    if (!files.length) return;
    event.preventDefault();
    uploadAll(files);
  });
  // The toolbar's "Image or file" button: the same upload, from a file picker.
  document.getElementById("attach-file")?.addEventListener("change", (event) => {
    const files = Array.from(event.target.files || []);
    event.target.value = "";
    if (files.length) uploadAll(files);
  });
  textarea.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files || []);
    if (!files.length) return; // plain text pastes as usual
    event.preventDefault();
    uploadAll(files);
  });
})();
