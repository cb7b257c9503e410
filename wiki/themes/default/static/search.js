// As-you-type title suggestions for the search box in the header (a native <datalist>).
// Choosing a suggested title opens that page; Enter searches for what was typed.
(function () {
  "use strict";
  var input = document.getElementById("header-q");
  if (!input || !window.fetch) { return; }
  var list = document.createElement("datalist");
  list.id = "header-q-suggestions";
  input.parentNode.appendChild(list);
  input.setAttribute("list", list.id);
  // A Map, not an object: a title like "constructor" must not find Object's own keys.
  var urls = new Map();
  var timer = null;
  var asked = "";

  function show(titles, links) {
    list.textContent = "";
    urls = new Map();
    titles.forEach(function (title, i) {
      var option = document.createElement("option");
      option.value = title;
      urls.set(title, links[i]);
      list.appendChild(option);
    });
  }

  function ask(text) {
    asked = text;
    fetch(input.dataset.suggest + "?q=" + encodeURIComponent(text),
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data[0] === asked && input.value.trim() === asked) { show(data[1], data[3]); }
      })
      .catch(function () { /* suggestions are a nicety; the form still works */ });
  }

  input.addEventListener("input", function (event) {
    var text = input.value.trim();
    // A suggestion picked from the list arrives without an inputType (or as a replacement).
    if (urls.has(input.value) && (!event.inputType || event.inputType === "insertReplacementText")) {
      window.location.href = urls.get(input.value);
      return;
    }
    clearTimeout(timer);
    if (text.length < 2) { show([], []); return; }
    timer = setTimeout(function () { ask(text); }, 150);
  });
})();
