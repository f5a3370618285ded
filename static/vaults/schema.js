/* The column editor: shows the masking fields of the chosen kind (preset or find/replace) and the
 * token lifetime only for TRANSIENT tokens. Without JavaScript every field stays visible. */
(function () {
  "use strict";
  var form = document.querySelector("[data-column-form]");
  if (!form) { return; }
  function field(name) { return form.querySelector('[data-field="' + name + '"]'); }
  function show(name, visible) {
    var el = field(name);
    if (el) { el.classList.toggle("is-hidden", !visible); }
  }
  function update() {
    var kind = form.querySelector('input[name="masking_kind"]:checked');
    var regex = kind && kind.value === "regex";
    show("masking_preset", !regex);
    show("masking_find", regex);
    show("masking_replace", regex);
    var tokenization = form.querySelector('select[name="tokenization"]');
    var ttl = form.querySelector('input[name="token_ttl_minutes"]');
    show("token_ttl_minutes", (tokenization && tokenization.value === "TRANSIENT") || (ttl && ttl.value !== ""));
  }
  form.addEventListener("change", update);
  update();
})();
