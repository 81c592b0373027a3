"""``/auth/token/cli``'s own token lifetime (Airflow's ``[api_auth] jwt_cli_expiration_time``)."""

from __future__ import annotations

import time

from airlane.api.auth import AuthConfig, Role, User

SECRET = "0123456789abcdef0123456789abcdef"
ANN = User("ann", "pw", Role.OP)


def test_the_cli_lifetime_defaults_to_airflows_hour_and_reads_either_setting() -> None:
    assert AuthConfig.from_env({}).cli_token_ttl_s == 3600
    ours = AuthConfig.from_env({"AIRLANE_API_CLI_TOKEN_TTL_S": "60"})
    assert ours.cli_token_ttl_s == 60
    airflows = AuthConfig.from_env({"AIRFLOW__API_AUTH__JWT_CLI_EXPIRATION_TIME": "120"})
    assert airflows.cli_token_ttl_s == 120


def test_a_token_lives_the_lifetime_it_is_issued_with() -> None:
    config = AuthConfig((ANN,), SECRET, token_ttl_s=86400, cli_token_ttl_s=600)
    now_s = float(int(time.time()))
    default = config.decode(config.issue(ANN, now_s=now_s))
    cli = config.decode(config.issue(ANN, now_s=now_s, ttl_s=config.cli_token_ttl_s))
    assert (default.expires_s - now_s, cli.expires_s - now_s) == (86400, 600)
    assert config.longest_ttl_s == 86400
