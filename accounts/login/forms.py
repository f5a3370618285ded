"""Forms of the sign-in pages and the personal page's MFA actions."""

from __future__ import annotations

from django import forms


class LoginForm(forms.Form):
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True}
        ),
    )


class BackupCodeForm(forms.Form):
    code = forms.CharField(
        label="Backup code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="One of the ten codes you saved when you set up MFA, e.g. abcde-fghjk. Each works once.",
    )


class TotpEnrolForm(forms.Form):
    name = forms.CharField(
        label="Name of this authenticator",
        max_length=64,
        initial="Authenticator app",
        help_text="So you can tell your devices apart later, e.g. “Work phone”.",
    )
    code = forms.CharField(
        label="6-digit code shown by the app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )
