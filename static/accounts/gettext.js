/* django-otp-webauthn's scripts call gettext() (Django's JavaScript catalogue). The studio is
 * English-only and does not mount that catalogue, so its messages pass through unchanged. */
(function () {
  "use strict";
  if (typeof window.gettext !== "function") {
    window.gettext = function (text) { return text; };
  }
})();
