"""A person's second factors: TOTP apps and WebAuthn passkeys (django-otp, django-otp-webauthn) and
single-use backup codes stored hashed; enrolment, verification (counted by django-axes), removal."""
