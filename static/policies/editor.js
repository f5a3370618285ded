/* The policy editor: syntax highlighting of the policy language (a <pre> behind a transparent
 * textarea), line numbers, and validation as you type — a debounced POST of the text to the studio's
 * validation endpoint, which runs the server's compiler; each error's line is marked and listed as
 * "line L, column C: message". A static file: the CSP allows no inline script. */
(function () {
  "use strict";
  var root = document.querySelector("[data-policy-editor]");
  if (!root) { return; }
  var textarea = root.querySelector("textarea");
  var highlight = root.querySelector(".code-highlight code");
  var pre = root.querySelector(".code-highlight");
  var gutter = root.querySelector(".code-gutter");
  var list = document.getElementById("policy-errors");
  var state = document.getElementById("validation-state");
  var vaultField = document.getElementById(root.getAttribute("data-vault-field"));
  var url = root.getAttribute("data-validate-url");
  var form = textarea.form;
  var initial = document.getElementById("policy-errors-data");
  var errors = initial ? JSON.parse(initial.textContent) : [];

  var EFFECTS = { ALLOW: "tok-effect-allow", DENY: "tok-effect-deny" };
  var ACTIONS = ["READ", "CREATE", "UPDATE", "DELETE", "TOKENIZATION", "DETOKENIZATION"];
  var KEYWORDS = ["ON", "WITH", "REDACTION", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "TRUE", "FALSE"];
  var LEVELS = ["PLAIN_TEXT", "MASKED", "REDACTED", "DEFAULT"];
  var TOKEN = /(#.*|--.*)|('(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|\u2018[^\u2019]*\u2019?|\u201c[^\u201d]*\u201d?)|([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\*))*)|(<=|>=|<>|!=|=|<|>|,|\(|\)|\*)|(\s+)|(.)/g;

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function span(cls, text) { return '<span class="' + cls + '">' + escape(text) + "</span>"; }

  function wordClass(word, index) {
    var upper = word.toUpperCase();
    if (index === 0 && EFFECTS[upper]) { return EFFECTS[upper]; }
    if (index === 1 && ACTIONS.indexOf(upper) >= 0) { return "tok-action"; }
    if (KEYWORDS.indexOf(upper) >= 0) { return "tok-keyword"; }
    if (LEVELS.indexOf(upper) >= 0) { return "tok-level"; }
    return "tok-ident";
  }

  function highlightLine(line, columns) {
    // columns: the 1-based columns the compiler reported on this line; the token there is underlined.
    var out = "";
    var words = 0;
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(line)) !== null) {
      if (match[0] === "") { TOKEN.lastIndex++; continue; }
      var start = match.index + 1;
      var end = start + match[0].length;
      var marked = (columns || []).some(function (c) { return c >= start && c < end; });
      var cls;
      if (match[1]) { cls = "tok-comment"; }
      else if (match[2]) { cls = "tok-string"; }
      else if (match[3]) { cls = "tok-number"; }
      else if (match[4]) { cls = wordClass(match[4], words); words++; }
      else if (match[5]) { cls = "tok-op"; }
      else if (match[6]) { out += escape(match[6]); continue; }
      else { cls = "tok-error"; }
      out += span(marked ? cls + " tok-error" : cls, match[0]);
    }
    return out;
  }

  function errorLines() {
    var lines = {};
    errors.forEach(function (e) {
      if (e.line) { (lines[e.line] = lines[e.line] || []).push(e.column); }
    });
    return lines;
  }

  function render() {
    var lines = textarea.value.split("\n");
    var bad = errorLines();
    var html = "";
    var numbers = "";
    for (var i = 0; i < lines.length; i++) {
      var n = i + 1;
      var cls = bad[n] ? "line line-error" : "line";
      html += '<span class="' + cls + '" data-line="' + n + '">' + (highlightLine(lines[i], bad[n]) || " ") + "</span>";
      numbers += "<span" + (bad[n] ? ' class="gutter-error"' : "") + ">" + n + "</span>";
    }
    highlight.innerHTML = html;
    gutter.innerHTML = numbers;
    sync();
  }

  function sync() {
    pre.scrollTop = textarea.scrollTop;
    pre.scrollLeft = textarea.scrollLeft;
    gutter.scrollTop = textarea.scrollTop;
  }

  function showErrors(valid) {
    list.innerHTML = "";
    errors.forEach(function (e) {
      var item = document.createElement("li");
      item.setAttribute("data-line", e.line);
      var where = document.createElement("span");
      where.className = "mono";
      where.textContent = "line " + e.line + ", column " + e.column + ":";
      item.appendChild(where);
      item.appendChild(document.createTextNode(" " + e.message));
      list.appendChild(item);
    });
    state.innerHTML = "";
    var badge = document.createElement("span");
    if (valid) {
      badge.className = "badge badge-ok";
      badge.textContent = "valid";
    } else {
      badge.className = "badge badge-bad";
      badge.textContent = errors.length + (errors.length === 1 ? " error" : " errors");
    }
    state.appendChild(badge);
  }

  var timer = null;
  var sequence = 0;
  function validate() {
    var mine = ++sequence;
    var token = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    var vault = vaultField ? vaultField.value : "";
    state.innerHTML = '<span class="badge">checking…</span>';
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" },
      body: JSON.stringify({ vault: vault, source: textarea.value })
    }).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("validation unavailable (" + response.status + ")"); }
      return response.json();
    }).then(function (body) {
      if (mine !== sequence) { return; }  // a later keystroke's answer wins
      errors = body.errors || [];
      showErrors(body.valid);
      render();
    }).catch(function (err) {
      if (mine !== sequence) { return; }
      state.innerHTML = "";
      var badge = document.createElement("span");
      badge.className = "badge badge-warn";
      badge.textContent = "not checked: " + err.message;
      state.appendChild(badge);
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(validate, 350);
  }

  textarea.addEventListener("input", function () { render(); schedule(); });
  textarea.addEventListener("scroll", sync);
  if (vaultField) { vaultField.addEventListener("change", schedule); }
  root.classList.remove("no-js");
  render();
  // Check the text as it is now: a saved policy whose columns were dropped since shows its errors at
  // once, and text typed (or pasted) before this script ran is not left unchecked.
  if (textarea.value.trim()) { schedule(); }
})();
