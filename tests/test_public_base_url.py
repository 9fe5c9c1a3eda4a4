"""Links in mail, QR codes and posters lead to the server that made them: `PORT=8000 make run` means port 8000."""

import pytest

import core.config


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "8000"}, "http://127.0.0.1:8000"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"HOST": "192.168.1.20"}, "http://192.168.1.20:5000"),
        ({"HOST": "::1", "PORT": "9000"}, "http://[::1]:9000"),
        ({"PUBLIC_BASE_URL": "https://weixinyuan.example.org/", "PORT": "8000"}, "https://weixinyuan.example.org"),
    ],
)
def test_the_public_address_follows_host_and_port_unless_given(monkeypatch, env, expected):
    for name in ("PUBLIC_BASE_URL", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert core.config._public_base_url() == expected
