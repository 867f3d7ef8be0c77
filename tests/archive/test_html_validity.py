"""Every public page, and every mail a subscriber gets from the site, is valid HTML by the
Nu HTML Checker: one run of the checker (one Java start) over all of them."""

import pytest
from django.template.loader import render_to_string
from django.utils.html import escape

from subscribers.models import Subscriber
from subscribers.services import mail
from tests.support.nu import nu_errors
from tests.support.public_pages import make_public_site


@pytest.mark.slow  # starts a Java virtual machine
def test_every_public_page_and_subscriber_mail_has_no_nu_html_checker_error(db, client, tmp_path):
    site = make_public_site()
    documents = {name: client.get(path).content.decode() for name, path in site.pages.items()}
    grace = Subscriber.objects.get(email="grace@example.net")
    ada = Subscriber.objects.get(email="ada@example.net")
    ids = [site.issue.newsletter_id]
    mails = {"confirmation mail": mail.confirmation_mail(grace, ids)}
    documents["check inbox"] = client.post("/subscribe/", site.subscribe_form).content.decode()
    documents["confirmed"] = client.post(site.pages["confirm"]).content.decode()
    documents["unsubscribed"] = client.post(site.pages["unsubscribe"]).content.decode()
    documents["server error"] = render_to_string("500.html")
    quiz = f"/q/web/{site.issue.pk}.1/"
    documents["quiz result"] = client.post(quiz, {"pick": "2"}).content.decode()
    assert "Your pick is locked in" in documents["quiz result"]
    assert "You are subscribed" in documents["confirmed"]
    assert "You are unsubscribed" in documents["unsubscribed"]
    grace.refresh_from_db()
    mails["welcome mail"] = mail.welcome_mail(grace, ids)
    mails["already subscribed mail"] = mail.already_subscribed_mail(ada, ids)
    for name, message in mails.items():
        html = message.alternatives[0][0]
        # What mail clients and screen readers read before the body: language, charset, title.
        assert html.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
        assert f"<title>{escape(message.subject)}</title>" in html, name
        documents[name] = html

    errors = nu_errors(documents, tmp_path)
    assert not errors, "\n".join(f"{name}: {e}" for name, found in errors.items() for e in found)
