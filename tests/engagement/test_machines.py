"""The scanner rules that judge a single request: people's browsers pass, machines do not."""

import pytest

from issues.engagement.machines import request_reason

PEOPLE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Linux; Android 13; Cubot KingKong 9) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0 Mobile Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17425; Pro)",
]
MACHINES = [
    "",
    "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
    "Proofpoint URL Defense",
    "Mimecast Link Scanner",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0",
]


@pytest.mark.parametrize("agent", PEOPLE)
def test_browsers_of_people_are_not_machines(agent):
    assert request_reason("GET", agent, is_canary=False) == ""


@pytest.mark.parametrize("agent", MACHINES)
def test_scanners_and_http_libraries_are_machines(agent):
    assert request_reason("GET", agent, is_canary=False) == "scanner"


def test_head_and_the_canary_are_machines_whoever_asks():
    assert request_reason("HEAD", PEOPLE[0], is_canary=False) == "head"
    assert request_reason("GET", PEOPLE[0], is_canary=True) == "canary"
