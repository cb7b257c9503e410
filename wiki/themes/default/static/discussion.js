// Discussions: reply to a comment, and @name autocomplete in comment boxes.
// Progressive enhancement: every form works without this file. No inline scripts (CSP).
(() => {
  "use strict";

  // "Reply" under a comment: fill the reply form's reply_to and say to whom.
  const form = document.querySelector("form.comment-form input[name=reply_to]")?.form;
  if (form) {
    const note = form.querySelector(".replying-to");
    const target = form.elements.reply_to;
    const set = (id, author) => {
      target.value = id || "";
      note.hidden = !id;
      note.querySelector("span").textContent = author || "";
    };
    document.addEventListener("click", (event) => {
      const link = event.target.closest?.("a[data-reply-to]");
      if (link) {
        set(link.dataset.replyTo, link.dataset.replyAuthor);
        form.elements.body.focus();
      } else if (event.target.closest?.("[data-reply-cancel]")) {
        set("", "");
      }
    });
  }

  // @name autocomplete: a list of matching users who may read the page.
  function mentions(textarea) {
    const list = document.createElement("ul");
    list.className = "mention-list";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    textarea.after(list);
    let timer = null;
    let controller = null;

    const word = () => {
      const before = textarea.value.slice(0, textarea.selectionStart);
      const match = /(^|[^\w@/.])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/.exec(before);
      return match ? { text: match[2] || "", start: before.length - (match[2] || "").length } : null;
    };

    const choose = (name) => {
      const found = word();
      if (!found) return;
      const end = textarea.selectionStart;
      textarea.setRangeText(name + " ", found.start, end, "end");
      list.hidden = true;
      textarea.focus();
    };

    const show = (users) => {
      list.replaceChildren(...users.map((user) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.dataset.name = user.name;
        button.textContent = user.label === user.name ? `@${user.name}` : `@${user.name} (${user.label})`;
        item.append(button);
        return item;
      }));
      list.hidden = users.length === 0;
    };

    list.addEventListener("mousedown", (event) => event.preventDefault());
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-name]");
      if (button) choose(button.dataset.name);
    });

    textarea.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "Escape") {
        list.hidden = true;
      } else if (event.key === "Enter" || event.key === "Tab") {
        const first = list.querySelector("button[data-name]");
        if (first) {
          event.preventDefault();
          choose(first.dataset.name);
        }
      }
    });

    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      const found = word();
      if (!found) {
        list.hidden = true;
        return;
      }
      timer = setTimeout(async () => {
        controller?.abort();
        controller = new AbortController();
        try {
          const url = `${textarea.dataset.mentions}?q=${encodeURIComponent(found.text)}`;
          const response = await fetch(url, { signal: controller.signal, credentials: "same-origin" });
          if (response.ok) show((await response.json()).users || []);
        } catch (error) {
          if (error.name !== "AbortError") list.hidden = true;
        }
      }, 150);
    });
  }

  document.querySelectorAll("textarea[data-mentions]").forEach(mentions);
})();
