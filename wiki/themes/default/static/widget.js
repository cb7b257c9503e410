/* Kennis search widget for another site (an intranet portal).
 *
 *   <div data-kennis-search data-limit="8" data-placeholder="Search the wiki"></div>
 *   <script src="https://wiki.example.org/static/widget.js" async></script>
 *
 * The wiki must list the portal's origin in its `cors_origins` setting. By default requests
 * carry no cookies (results are what an anonymous visitor may read); with
 * `data-credentials="include"` on the element and `cors_allow_credentials = true` on the wiki,
 * a colleague who is logged in to the wiki sees what they may read.
 *
 * The widget adds no <style> and no inline handlers (it works under a strict CSP); its parts
 * have classes `kennis-search-input`, `kennis-search-status`, `kennis-search-results`,
 * `kennis-search-result`, `kennis-search-title`, `kennis-search-page` (the page of a
 * discussion or file), `kennis-search-snippet` for the portal's CSS.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, document.baseURI).origin : "";

  // Snippets are sanitized by the wiki (escaped text with <mark>); still, only text and
  // <mark> are copied into the portal's page.
  function snippetNodes(html) {
    var out = document.createDocumentFragment();
    var doc = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
    doc.body.firstChild.childNodes.forEach(function (node) {
      if (node.nodeType === 3) {
        out.appendChild(document.createTextNode(node.textContent));
      } else if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      }
    });
    return out;
  }

  function setup(box) {
    if (box.dataset.kennisReady) { return; }
    box.dataset.kennisReady = "1";
    var wiki = box.dataset.wiki || base;
    var limit = parseInt(box.dataset.limit || "8", 10);
    var credentials = box.dataset.credentials === "include" ? "include" : "omit";
    var input = document.createElement("input");
    input.type = "search";
    input.className = "kennis-search-input";
    input.placeholder = box.dataset.placeholder || "Search the wiki";
    input.setAttribute("aria-label", input.placeholder);
    input.autocomplete = "off";
    var status = document.createElement("p");
    status.className = "kennis-search-status";
    status.setAttribute("role", "status");
    var results = document.createElement("ol");
    results.className = "kennis-search-results";
    box.appendChild(input);
    box.appendChild(status);
    box.appendChild(results);
    var timer = null;
    var seq = 0;

    function render(data, asked) {
      results.textContent = "";
      status.textContent = data.total ? data.total + (data.total === 1 ? " result" : " results")
        : (data.indexing ? "The wiki is indexing; try again shortly." : "No results");
      if (data.suggestion) {
        var again = document.createElement("a");
        again.href = wiki + "/search?q=" + encodeURIComponent(data.suggestion);
        again.textContent = data.suggestion;
        status.appendChild(document.createTextNode(" · Did you mean "));
        status.appendChild(again);
        status.appendChild(document.createTextNode("?"));
      }
      data.results.forEach(function (hit) {
        var item = document.createElement("li");
        item.className = "kennis-search-result";
        var link = document.createElement("a");
        link.className = "kennis-search-title";
        link.href = hit.url || (wiki + "/wiki/" + encodeURI(hit.path));
        link.textContent = hit.title;
        var snippet = document.createElement("p");
        snippet.className = "kennis-search-snippet";
        snippet.appendChild(snippetNodes(hit.snippet || ""));
        item.appendChild(link);
        if (hit.kind && hit.kind !== "page") {
          var page = document.createElement("a");
          page.className = "kennis-search-page";
          page.href = hit.page_url || (wiki + "/wiki/" + encodeURI(hit.path));
          page.textContent = hit.path;
          item.appendChild(document.createTextNode(" · "));
          item.appendChild(page);
        }
        item.appendChild(snippet);
        results.appendChild(item);
      });
      if (data.total > data.results.length) {
        var more = document.createElement("li");
        var all = document.createElement("a");
        all.href = wiki + "/search?q=" + encodeURIComponent(asked);
        all.textContent = "All results";
        more.appendChild(all);
        results.appendChild(more);
      }
    }

    function ask(text) {
      var mine = ++seq;
      fetch(wiki + "/api/v1/search?limit=" + limit + "&q=" + encodeURIComponent(text),
            { credentials: credentials, headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) { throw new Error("Please log in to the wiki to search it."); }
          if (!r.ok) { throw new Error("The wiki did not answer (" + r.status + ")."); }
          return r.json();
        })
        .then(function (data) { if (mine === seq) { render(data, text); } })
        .catch(function (error) {
          if (mine === seq) {
            results.textContent = "";
            status.textContent = error.message || "The wiki cannot be reached.";
          }
        });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!text) { seq++; results.textContent = ""; status.textContent = ""; return; }
      timer = setTimeout(function () { ask(text); }, 200);
    });
  }

  function start() {
    document.querySelectorAll("[data-kennis-search]").forEach(setup);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
