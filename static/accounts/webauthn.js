/* After django-otp-webauthn registers a passkey (its script fires "otp_webauthn.register_complete"
 * with the server's JSON), go where the server says: the backup codes after a first enrolment, the
 * account page otherwise (with the page's ``next``, if any). Signing in with a passkey needs nothing here: the library follows the
 * server's redirect_url itself. */
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function (event) {
    var detail = event.detail || {};
    var response = detail.response || {};
    var target = response.redirect_url;
    if (typeof target !== "string" || target.charAt(0) !== "/" || target.charAt(1) === "/") { return; }
    // Keep the page the person was heading for (the server checks it is one of ours).
    var next = document.querySelector("input[name='next']");
    if (next && next.value && target.indexOf("?") === -1) {
      target += "?next=" + encodeURIComponent(next.value);
    }
    window.location.assign(target);
  });
})();
