"""Teams settings from the environment: the Bot Framework's variable names, and checks that name the fix."""

from __future__ import annotations

import pytest

from clipbot.bot.adapters.teams.settings import TeamsSettings, app_id_from_environment
from clipbot.config import ConfigError

APP_ID = "5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"
TENANT = "3f2b9c1e-7a4d-4e8b-9c6f-2d1e0a5b7c84"


def test_empty_environment_leaves_teams_off():
    settings = TeamsSettings.from_environment({})
    assert settings.enabled is False
    assert settings.organisation == "default"


def test_multi_tenant_app_read():
    settings = TeamsSettings.from_environment({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "secret"})
    assert settings.app_id == APP_ID
    assert settings.app_type == "MultiTenant"
    assert settings.authenticated is True


def test_app_type_any_case():
    settings = TeamsSettings.from_environment({
        "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "secret", "MicrosoftAppType": "singletenant",
        "MicrosoftAppTenantId": TENANT,
    })
    assert settings.app_type == "SingleTenant"


def test_unknown_app_type_rejected():
    with pytest.raises(ConfigError, match="MicrosoftAppType is 'Personal'"):
        TeamsSettings.from_environment({"MicrosoftAppId": APP_ID, "MicrosoftAppType": "Personal"})


def test_single_tenant_needs_tenant_id():
    with pytest.raises(ConfigError, match="MicrosoftAppTenantId is missing"):
        TeamsSettings.from_environment({
            "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "secret", "MicrosoftAppType": "SingleTenant",
        })


def test_managed_identity_needs_no_password():
    settings = TeamsSettings.from_environment({
        "MicrosoftAppId": APP_ID, "MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppTenantId": TENANT,
    })
    assert settings.app_password == ""


def test_password_required_for_multi_tenant():
    with pytest.raises(ConfigError, match="MicrosoftAppPassword is missing"):
        TeamsSettings.from_environment({"MicrosoftAppId": APP_ID})


def test_password_without_app_id_rejected():
    with pytest.raises(ConfigError, match="MicrosoftAppId is missing"):
        TeamsSettings.from_environment({"MicrosoftAppPassword": "secret"})


def test_unauthenticated_mode_is_explicit():
    settings = TeamsSettings.from_environment({"TEAMS_ALLOW_UNAUTHENTICATED": "true"})
    assert settings.enabled is True
    assert settings.authenticated is False


def test_unauthenticated_mode_refused_with_app_id():
    with pytest.raises(ConfigError, match="always authenticated"):
        TeamsSettings.from_environment({
            "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "secret", "TEAMS_ALLOW_UNAUTHENTICATED": "yes",
        })


def test_unreadable_flag_rejected():
    with pytest.raises(ConfigError, match="TEAMS_ALLOW_UNAUTHENTICATED is 'maybe'"):
        TeamsSettings.from_environment({"TEAMS_ALLOW_UNAUTHENTICATED": "maybe"})


def test_loopback_http_uploads_off_by_default():
    settings = TeamsSettings.from_environment({"TEAMS_ALLOW_UNAUTHENTICATED": "true"})
    assert settings.allow_loopback_http_uploads is False


def test_loopback_http_uploads_read():
    settings = TeamsSettings.from_environment({
        "TEAMS_ALLOW_UNAUTHENTICATED": "true", "TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS": "yes",
    })
    assert settings.allow_loopback_http_uploads is True


def test_loopback_http_uploads_refused_with_app_id():
    with pytest.raises(ConfigError, match="Unset TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS"):
        TeamsSettings.from_environment({
            "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "secret", "TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS": "true",
        })


def test_loopback_http_uploads_checked_when_built_directly():
    settings = TeamsSettings(app_id=APP_ID, app_password="secret", allow_loopback_http_uploads=True)
    with pytest.raises(ConfigError, match="TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS is set together with MicrosoftAppId"):
        settings.check()


def test_not_enabled_explains_both_ways():
    with pytest.raises(ConfigError, match="TEAMS_ALLOW_UNAUTHENTICATED=true"):
        TeamsSettings().require_enabled()


def test_organisation_falls_back_to_clipbot_organisation():
    settings = TeamsSettings.from_environment({"CLIPBOT_ORGANISATION": "st-elsewhere"})
    assert settings.organisation == "st-elsewhere"


def test_teams_organisation_wins():
    settings = TeamsSettings.from_environment({"CLIPBOT_ORGANISATION": "st-elsewhere", "TEAMS_ORGANISATION": "north"})
    assert settings.organisation == "north"


def test_repr_hides_password():
    settings = TeamsSettings(app_id=APP_ID, app_password="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert APP_ID in repr(settings)


def test_errors_never_show_password():
    with pytest.raises(ConfigError) as raised:
        TeamsSettings.from_environment({"MicrosoftAppPassword": "very-secret-value"})
    assert "very-secret-value" not in str(raised.value)


def test_package_app_id_needs_no_other_setting():
    # A SingleTenant app without its password or tenant id is not enough to serve, but the package needs neither.
    environment = {"MicrosoftAppId": f" {APP_ID} ", "MicrosoftAppType": "SingleTenant"}
    assert app_id_from_environment(environment) == APP_ID


def test_package_app_id_missing_named():
    with pytest.raises(ConfigError, match="MicrosoftAppId is not set"):
        app_id_from_environment({"MicrosoftAppPassword": "secret"})


def test_package_app_id_error_never_shows_value():
    with pytest.raises(ConfigError) as raised:
        app_id_from_environment({"MicrosoftAppId": "very-secret-value~pasted-by-mistake"})
    assert "very-secret-value" not in str(raised.value)
    assert "MicrosoftAppId is not a GUID" in str(raised.value)
