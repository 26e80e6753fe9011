"""The settings model: layers, validation, defaults, and the key never shown."""

from __future__ import annotations

import pytest

from deepseek_lsp.config import SETTINGS, Settings, env_layer, load_settings


def test_layers_later_wins_and_section_is_unwrapped():
    settings, problems = load_settings([
        {"apiKey": "sk-env", "debounceMs": 100},
        {"deepseek": {"debounceMs": 300, "model": "deepseek-v4-flash"}},
        {"debounceMs": 50},
    ])
    assert problems == []
    assert settings.api_key == "sk-env"
    assert settings.debounce_ms == 50
    assert settings.model == "deepseek-v4-flash"


def test_invalid_values_are_reported_once_each_and_defaults_used():
    settings, problems = load_settings([{
        "debounceMs": -5, "temperature": "hot", "enable": "maybe", "baseUrl": "ftp://x",
        "exclude": "*.env", "prices": {"cacheHit": -1}, "unknownKey": 1,
    }])
    assert {p.key for p in problems} == {
        "debounceMs", "temperature", "enable", "baseUrl", "exclude", "prices"
    }
    # an invalid base URL is refused, never replaced by the default the key would go to
    assert settings == Settings(base_url="ftp://x")
    assert settings.base_url_problem
    message = next(p for p in problems if p.key == "debounceMs").message
    assert "debounceMs" in message and "0-2000" in message


@pytest.mark.parametrize("url", [
    "localhost:8080", "ftp://x", "notaurl", "https://", "https://api.deepseek.com:99999",
    "https://host with space", "http://10.0.0.5:8080", "http://api.example.com",
])
def test_unusable_base_urls_are_refused_not_replaced(url):
    settings, problems = load_settings([{"baseUrl": url}])
    assert settings.base_url == url.rstrip("/")  # not https://api.deepseek.com
    assert settings.base_url_problem
    (problem,) = problems
    assert problem.key == "baseUrl"
    assert "no request is sent" in problem.message and "using the default" not in problem.message


@pytest.mark.parametrize("url", [
    "https://api.deepseek.com", "https://api.deepseek.com/", "https://gw.example.com/v1",
    "http://127.0.0.1:8765", "http://localhost:9", "http://[::1]:8080",
])
def test_usable_base_urls(url):
    settings, problems = load_settings([{"baseUrl": url}])
    assert problems == [] and settings.base_url_problem is None


def test_plain_http_to_another_host_needs_the_opt_in_and_is_warned_about():
    settings, problems = load_settings([{"baseUrl": "http://10.0.0.5:8080",
                                         "allowInsecureHttp": True}])
    assert settings.base_url_problem is None
    (warning,) = problems
    assert warning.key == "allowInsecureHttp" and "unencrypted" in warning.message


def test_api_key_never_in_repr_or_messages():
    settings, problems = load_settings([{"apiKey": "sk-supersecret123456"}, {"apiKey": 42}])
    assert "sk-supersecret" not in repr(settings)
    assert all("42" not in p.message for p in problems if p.key == "apiKey")


def test_env_layer():
    layer = env_layer({"DEEPSEEK_API_KEY": "sk-a", "DEEPSEEK_BASE_URL": "http://127.0.0.1:1"})
    settings, _ = load_settings([layer])
    assert settings.api_key == "sk-a"
    assert settings.base_url == "http://127.0.0.1:1"


def test_every_spec_key_has_a_default_and_description():
    defaults = Settings()
    for spec in SETTINGS:
        assert hasattr(defaults, spec.attr)
        assert spec.description and spec.kind
        # the default itself passes validation (prices and None key excepted)
        value = getattr(defaults, spec.attr)
        if spec.key not in ("prices", "apiKey"):
            assert spec.check(list(value) if isinstance(value, tuple) else value) == value


def test_prices_and_cost():
    settings, problems = load_settings([{"prices": {"cacheHit": 0.1, "cacheMiss": 1,
                                                    "output": 2, "currency": "CNY"}}])
    assert not problems
    assert settings.prices.currency == "CNY"
    assert settings.prices.cost(1_000_000, 1_000_000, 1_000_000) == 3.1
