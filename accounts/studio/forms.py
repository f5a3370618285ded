"""Forms of the studio's people, groups and service-account pages: parsing and input checks only; the
services decide and write."""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

from accounts.models import ServiceAccountKey, User


class UserSearchForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"type": "search", "placeholder": "Email or name"})
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Everyone"), ("active", "Active"), ("inactive", "Deactivated")],
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )

    def active(self) -> bool | None:
        status = self.cleaned_data.get("status") if self.is_valid() else ""
        return {"active": True, "inactive": False}.get(status or "")


class UserCreateForm(forms.Form):
    email = forms.EmailField(label="Email", help_text="The person's login.")
    name = forms.CharField(label="Name", max_length=255, required=False)
    password = forms.CharField(
        label="Initial password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Hand it to the person over a separate channel. At their first login they must enrol an "
        "MFA device before they can reach anything.",
    )
    password2 = forms.CharField(
        label="Initial password, again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = " ".join(password_validators_help_texts())
        if rules:
            self.fields["password"].help_text = f"{rules} {self.fields['password'].help_text}"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A person with this email already exists.")
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("password")
        if password and data.get("password2") and password != data["password2"]:
            self.add_error("password2", "The two passwords differ.")
        elif password:
            try:
                validate_password(password, User(email=data.get("email") or "", name=data.get("name") or ""))
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserNameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255, required=False)


class GroupForm(forms.Form):
    name = forms.CharField(label="Group name", max_length=255)


class GroupMemberForm(forms.Form):
    email = forms.EmailField(label="Add a person by email")

    def clean_email(self) -> User:
        email = self.cleaned_data["email"].strip()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(f"No person has the email {email}.")
        return user


def _parse_cidrs(text: str) -> list[str]:
    cidrs, bad = [], []
    for item in text.replace(",", "\n").split():
        try:
            cidrs.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            bad.append(item)
    if bad:
        raise forms.ValidationError(
            "Not an IP address or CIDR network: %(bad)s. Write one per line, e.g. 10.0.0.0/8 or 203.0.113.7.",
            params={"bad": ", ".join(bad)},
        )
    return cidrs


class ServiceAccountForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    ip_allowlist = forms.CharField(
        label="IP allowlist",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "10.0.0.0/8\n203.0.113.7"}),
        help_text="CIDR networks or addresses, one per line. Empty: requests from any address.",
    )
    token_ttl_minutes = forms.IntegerField(
        label="Access token lifetime (minutes)",
        min_value=1,
        initial=15,
        help_text="How long a token from the token endpoint lives.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        maximum = settings.VAULTSTUDIO_ACCESS_TOKEN_TTL_MAX // 60
        field = self.fields["token_ttl_minutes"]
        field.max_value = maximum
        field.validators.append(MaxValueValidator(maximum))
        field.widget.attrs.update(min=1, max=maximum)
        field.help_text += f" 1 to {maximum}."

    def clean_ip_allowlist(self) -> list[str]:
        return _parse_cidrs(self.cleaned_data.get("ip_allowlist") or "")

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description") or "",
            "ip_allowlist": data["ip_allowlist"],
            "token_ttl_seconds": data["token_ttl_minutes"] * 60,
        }

    @classmethod
    def initial_for(cls, account: Any) -> dict[str, Any]:
        return {
            "name": account.name,
            "description": account.description,
            "ip_allowlist": "\n".join(account.ip_allowlist),
            "token_ttl_minutes": account.token_ttl_seconds // 60,
        }


def _lifetime_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=settings.VAULTSTUDIO_KEY_LIFETIME_DAYS,
        initial=settings.VAULTSTUDIO_KEY_LIFETIME_DAYS,
        help_text=f"1 to {settings.VAULTSTUDIO_KEY_LIFETIME_DAYS}. "
        "Owners and admins are reminded 30, 7 and 1 days before it expires.",
    )


class KeyGenerateForm(forms.Form):
    algorithm = forms.ChoiceField(
        label="Algorithm",
        choices=ServiceAccountKey.ALGORITHMS,
        initial=ServiceAccountKey.RS256,
        help_text="RS256 (RSA 2048) works with every Skyflow SDK; ES256 (P-256) is smaller and faster.",
    )
    nonce = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_days"] = _lifetime_field()


class KeyUploadForm(forms.Form):
    algorithm = forms.ChoiceField(
        label="Algorithm", choices=ServiceAccountKey.ALGORITHMS, initial=ServiceAccountKey.RS256
    )
    public_key = forms.CharField(
        label="Public key (PEM)",
        widget=forms.Textarea(
            attrs={"rows": 9, "placeholder": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----"}
        ),
        help_text="The SubjectPublicKeyInfo PEM of an RSA (2048 bits or more) or P-256 key. The private key never "
        "leaves your side.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_days"] = _lifetime_field()
