// The conflict screen (conflict.html): shows the edit box only for "Edit", and previews the
// text the current choices make. Without this file the form still posts and the server
// assembles the same text (wiki/conflicts.py).
(() => {
  "use strict";

  const form = document.getElementById("conflict");
  if (!form) return;
  const preview = form.querySelector(".preview");
  const csrfToken = form.querySelector('input[name="csrf_token"]')?.value || "";
  const count = Number(form.querySelector('input[name="parts"]')?.value || 0);
  const value = (name) => form.elements.namedItem(name)?.value ?? "";

  function resolved() {
    let text = "";
    for (let i = 0; i < count; i += 1) {
      if (!form.elements.namedItem(`theirs-${i}`)) {
        text += value(`text-${i}`);
        continue;
      }
      const mine = value(`mine-${i}`);
      const theirs = value(`theirs-${i}`);
      const choice = form.querySelector(`input[name="choice-${i}"]:checked`)?.value || "both";
      if (choice === "mine") text += mine;
      else if (choice === "theirs") text += theirs;
      else if (choice === "edit") {
        const edited = value(`edit-${i}`);
        text += edited && !edited.endsWith("\n") ? `${edited}\n` : edited;
      } else text += mine + theirs;
    }
    return text;
  }

  function showEditBoxes() {
    form.querySelectorAll(".conflict-change").forEach((fieldset) => {
      const editing = fieldset.querySelector(".choice-edit")?.checked;
      fieldset.querySelector(".conflict-edit").hidden = !editing;
      fieldset.querySelector(".conflict-edit-label").hidden = !editing;
    });
  }

  let timer = 0;
  let controller = null;
  async function updatePreview() {
    controller?.abort();
    controller = new AbortController();
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
        body: new URLSearchParams({ markdown: resolved(), csrf_token: csrfToken,
                                    name: form.dataset.page || "" }),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`preview: HTTP ${response.status}`);
      const data = await response.json();
      // Sanitized by the server (wiki/render.py); the CSP blocks anything inline.
      preview.innerHTML = typeof data.html === "string" ? data.html : "";
    } catch (error) {
      if (error.name !== "AbortError") preview.classList.add("failed");
    }
  }

  form.addEventListener("input", () => {
    showEditBoxes();
    clearTimeout(timer);
    timer = setTimeout(updatePreview, 300);
  });
  showEditBoxes();
  updatePreview();
})();
