// Small progressive enhancements for every page. Everything works without this file.
// Loaded with `defer`, so the document is parsed when it runs. No inline scripts: the CSP
// allows only files from /static (script-src 'self').
(() => {
  "use strict";

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
