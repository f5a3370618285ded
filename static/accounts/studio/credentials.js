/* The key-generated page: credentials.json is offered once. After the download starts, the link's data
 * (the private key) is dropped from the page, so it cannot be downloaded again from here. */
(function () {
  "use strict";
  var link = document.querySelector("a[data-once]");
  if (!link) { return; }
  link.addEventListener("click", function () {
    // After the browser has taken the file: the click's default action runs once this handler returns.
    window.setTimeout(function () {
      link.removeAttribute("href");
      link.removeAttribute("download");
      link.setAttribute("aria-disabled", "true");
      link.classList.add("is-spent");
      link.textContent = "credentials.json downloaded";
      var done = document.getElementById("download-done");
      if (done) { done.hidden = false; }
    }, 0);
  });
})();
