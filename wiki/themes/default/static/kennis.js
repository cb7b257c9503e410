// Small progressive enhancements for every page. Everything works without this file.
// Loaded with `defer`, so the document is parsed when it runs. No inline scripts: the CSP
// allows only files from /static (script-src 'self').
(() => {
  "use strict";

  // Styles that only make sense with this script (the phone menu) key on this class.
  document.documentElement.classList.add("js");

  // Phones: the site links sit behind a menu button.
  const header = document.querySelector(".site-header");
  const menuButton = header?.querySelector(".menu-toggle");
  menuButton?.addEventListener("click", () => {
    const open = header.classList.toggle("menu-open");
    menuButton.setAttribute("aria-expanded", String(open));
  });

  // Menus made of <details> close on Escape or a click elsewhere.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.more-menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.more-menu[open]").forEach((menu) => {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    });
  });

  // `/` focuses the search box from anywhere but a text field, as on GitHub.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest?.("input, textarea, select, [contenteditable]")) return;
    const search = document.getElementById("header-q");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });

  // The page tree: the server sends the levels down to the current page; a closed folder
  // fetches its own level the first time it is opened.
  async function fetchLevel(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(String(response.status));
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    return holder.querySelector("ul");
  }

  function pageTree(nav) {
    nav.addEventListener("click", async (event) => {
      const toggle = event.target.closest?.(".tree-toggle");
      if (!toggle) return;
      const open = toggle.getAttribute("aria-expanded") !== "true";
      if (open && !toggle.parentElement.querySelector(":scope > ul") && toggle.dataset.load) {
        toggle.setAttribute("aria-busy", "true");
        try {
          const level = await fetchLevel(toggle.dataset.load);
          if (level) toggle.parentElement.append(level);
        } catch {
          toggle.removeAttribute("aria-busy");
          return;
        }
        toggle.removeAttribute("aria-busy");
      }
      toggle.setAttribute("aria-expanded", String(open));
    });
    fetchLevel(nav.dataset.src).then((level) => {
      if (!level) return;
      nav.querySelector(".tree-fallback")?.remove();
      nav.append(level);
    }).catch(() => {
      const note = document.createElement("p");
      note.textContent = nav.dataset.error || "";
      nav.append(note);
    });
  }

  // A page that opens with its own title: the folded contents go right under that title.
  const fold = document.querySelector(".toc-fold");
  const firstHeading = document.querySelector(".page-content > h1:first-child");
  if (fold && firstHeading) firstHeading.after(fold);

  // Only where the tree is shown (wide screens): phones do not pay for it.
  document.querySelectorAll("nav.page-tree[data-src]").forEach((nav) => {
    if (getComputedStyle(nav).display !== "none") pageTree(nav);
  });

  // History: only offer comparisons that make sense, as MediaWiki does. Rows are newest
  // first, so "from" must be in a row below the chosen "to", and "to" in a row above "from".
  function compareRadios(table) {
    const rows = Array.from(table.tBodies[0]?.rows || []);
    const pick = (row, name) => row.querySelector(`input[type="radio"][name="${name}"]`);
    const update = () => {
      const fromIndex = rows.findIndex((row) => pick(row, "from")?.checked);
      const toIndex = rows.findIndex((row) => pick(row, "to")?.checked);
      rows.forEach((row, i) => {
        const from = pick(row, "from");
        const to = pick(row, "to");
        from?.classList.toggle("unavailable", toIndex >= 0 && i <= toIndex);
        to?.classList.toggle("unavailable", fromIndex >= 0 && i >= fromIndex);
      });
    };
    table.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("table.history-table").forEach(compareRadios);

  // Heading ids carry a `user-content-` prefix (wiki/render.py) so page text cannot clobber
  // DOM names; an address written without it (`/wiki/Page#setup`, old bookmarks, links from
  // other pages) still lands on the heading, as on GitHub.
  function jumpToPrefixedHeading() {
    let name;
    try {
      name = decodeURIComponent(window.location.hash.slice(1));
    } catch {
      return; // a malformed escape: nothing to find
    }
    if (!name || document.getElementById(name)) return;
    document.getElementById(`user-content-${name}`)?.scrollIntoView();
  }

  window.addEventListener("hashchange", jumpToPrefixedHeading);
  jumpToPrefixedHeading();

  // Buttons that ask first: <button data-confirm="Are you sure?">.
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
