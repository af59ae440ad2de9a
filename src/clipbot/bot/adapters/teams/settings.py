"""Microsoft Teams settings, read once at start-up from the environment.

The variable names are the Bot Framework's own (MicrosoftAppId, MicrosoftAppPassword,
MicrosoftAppType, MicrosoftAppTenantId), so an Azure Bot resource's configuration can be copied as
it is. TEAMS_ALLOW_UNAUTHENTICATED turns JWT validation off for the Bot Framework Emulator, and only
when no app id is set. TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS lets file uploads go to plain-http URLs on
127.0.0.1, for a local test server, and is also valid only without an app id. TEAMS_ORGANISATION is
the organisation that a new Teams tenant serves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from clipbot.config import ConfigError

MULTI_TENANT = "MultiTenant"
SINGLE_TENANT = "SingleTenant"
USER_ASSIGNED_MSI = "UserAssignedMSI"
APP_TYPES = (MULTI_TENANT, SINGLE_TENANT, USER_ASSIGNED_MSI)

# A Microsoft App ID is a GUID, and Teams rejects an app package whose id is not one.
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("", "0", "false", "no", "off")

# The place of each value in the Azure portal, for error messages.
_AZURE_HELP = {
    "MicrosoftAppId": "the Azure Bot resource > Configuration > Microsoft App ID",
    "MicrosoftAppPassword": "the app registration > Certificates & secrets > Client secrets (the secret's Value)",
    "MicrosoftAppTenantId": "the app registration > Overview > Directory (tenant) ID",
}


@dataclass(frozen=True, slots=True)
class TeamsSettings:
    """The Bot Framework credentials and options of one Azure Bot registration.

    `app_type` is one of APP_TYPES. `tenant_id` is required for SingleTenant and UserAssignedMSI,
    and when it is set only that tenant is linked to `organisation` on first contact.
    `allow_unauthenticated` accepts requests without a token and is only valid without an app id.
    `allow_loopback_http_uploads` accepts file upload URLs of the form http://127.0.0.1... as well
    as https ones. It is for tests against a local fake of Teams, and is only valid without an app id.
    """

    app_id: str = ""
    app_password: str = ""
    app_type: str = MULTI_TENANT
    tenant_id: str = ""
    allow_unauthenticated: bool = False
    organisation: str = "default"
    allow_loopback_http_uploads: bool = False

    @property
    def enabled(self) -> bool:
        """True when Teams is configured at all: an app id, or the explicit unauthenticated mode."""
        return bool(self.app_id or self.allow_unauthenticated)

    @property
    def authenticated(self) -> bool:
        """True when every request to /api/messages must carry a valid Bot Framework token."""
        return bool(self.app_id)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> TeamsSettings:
        """Read and check the Teams variables; raise ConfigError naming the variable and the fix."""
        environ = os.environ if environ is None else environ
        app_type_text = environ.get("MicrosoftAppType", "").strip() or MULTI_TENANT
        organisation = (
            environ.get("TEAMS_ORGANISATION", "").strip()
            or environ.get("CLIPBOT_ORGANISATION", "").strip()
            or "default"
        )
        settings = cls(
            app_id=environ.get("MicrosoftAppId", "").strip(),
            app_password=environ.get("MicrosoftAppPassword", "").strip(),
            app_type=_app_type(app_type_text),
            tenant_id=environ.get("MicrosoftAppTenantId", "").strip(),
            allow_unauthenticated=_flag("TEAMS_ALLOW_UNAUTHENTICATED", environ.get("TEAMS_ALLOW_UNAUTHENTICATED", "")),
            organisation=organisation,
            allow_loopback_http_uploads=_flag(
                "TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS", environ.get("TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS", "")
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ConfigError for a combination of settings that cannot work; messages never contain secrets."""
        if self.app_type not in APP_TYPES:
            raise ConfigError(f"MicrosoftAppType is '{self.app_type}'. Use one of: {', '.join(APP_TYPES)}.")
        if not self.app_id:
            if self.app_password or self.tenant_id:
                present = "MicrosoftAppPassword" if self.app_password else "MicrosoftAppTenantId"
                raise ConfigError(
                    f"{present} is set but MicrosoftAppId is missing. Copy it from {_AZURE_HELP['MicrosoftAppId']}."
                )
            return

        if self.allow_loopback_http_uploads:
            raise ConfigError(
                "TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS is set together with MicrosoftAppId, but Teams always gives "
                "https upload URLs. Unset TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS, which is only for tests against a "
                "local fake of Teams without an app id."
            )
        if self.allow_unauthenticated:
            raise ConfigError(
                "TEAMS_ALLOW_UNAUTHENTICATED is set together with MicrosoftAppId, but requests are always "
                "authenticated when an app id is set. Unset TEAMS_ALLOW_UNAUTHENTICATED, or unset "
                "MicrosoftAppId to test with the Bot Framework Emulator."
            )
        if self.app_type != USER_ASSIGNED_MSI and not self.app_password:
            raise ConfigError(
                f"MicrosoftAppPassword is missing for the {self.app_type} app {self.app_id}. "
                f"Copy it from {_AZURE_HELP['MicrosoftAppPassword']}."
            )
        if self.app_type in (SINGLE_TENANT, USER_ASSIGNED_MSI) and not self.tenant_id:
            raise ConfigError(
                f"MicrosoftAppTenantId is missing, and a {self.app_type} app needs it. "
                f"Copy it from {_AZURE_HELP['MicrosoftAppTenantId']}."
            )

    def require_enabled(self) -> None:
        """Raise ConfigError unless an app id is set or unauthenticated mode was chosen explicitly."""
        if not self.enabled:
            raise ConfigError(
                "Teams has no MicrosoftAppId, so requests from Teams cannot be authenticated. Set "
                "MicrosoftAppId and MicrosoftAppPassword from your Azure Bot resource, or set "
                "TEAMS_ALLOW_UNAUTHENTICATED=true to test with the Bot Framework Emulator on this machine."
            )

    def __repr__(self) -> str:
        password = "<hidden>" if self.app_password else "''"
        return (
            f"TeamsSettings(app_id={self.app_id!r}, app_password={password}, app_type={self.app_type!r}, "
            f"tenant_id={self.tenant_id!r}, allow_unauthenticated={self.allow_unauthenticated!r}, "
            f"organisation={self.organisation!r}, allow_loopback_http_uploads={self.allow_loopback_http_uploads!r})"
        )


def app_id_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """Read MicrosoftAppId alone, for the app package, which needs no other Teams setting.

    Raises ConfigError when it is missing or is not a GUID.
    """
    environ = os.environ if environ is None else environ
    return checked_app_id(environ.get("MicrosoftAppId", "").strip())


def checked_app_id(app_id: str) -> str:
    """Return `app_id` if it is a GUID, or raise ConfigError naming MicrosoftAppId and the fix.

    The message never shows the value, in case a client secret was pasted there by mistake.
    """
    if not app_id:
        raise ConfigError(
            f"MicrosoftAppId is not set, and the Teams app package needs the bot's app id. "
            f"Copy it from {_AZURE_HELP['MicrosoftAppId']}."
        )
    if not _GUID.fullmatch(app_id):
        raise ConfigError(
            f"MicrosoftAppId is not a GUID, so Teams would reject the app package. Copy the app id from "
            f"{_AZURE_HELP['MicrosoftAppId']}: it has the form 00000000-0000-0000-0000-000000000000 "
            f"(8-4-4-4-12 hexadecimal digits). The value set has {len(app_id)} characters and is not shown, "
            f"in case it is a secret."
        )
    return app_id


def _app_type(text: str) -> str:
    """Return the Bot Framework spelling of an app type given in any case, or the text unchanged."""
    for app_type in APP_TYPES:
        if text.casefold() == app_type.casefold():
            return app_type
    return text


def _flag(name: str, text: str) -> bool:
    word = text.strip().casefold()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ConfigError(f"{name} is '{text.strip()}', which is not yes or no. Use true or false, or unset it.")
