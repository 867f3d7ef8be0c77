"""Public pages of the audience: subscribe, confirm, unsubscribe, preferences.

Thin: each view reads the request, calls ``services`` and renders. Token links that fail
(forged, altered, expired, used) get a friendly 400 page and change nothing.
"""

import ipaddress
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services, tokens
from .forms import PreferencesForm, SubscribeForm
from .models import Source, Subscriber, Subscription

CHECK_INBOX = (
    "Thanks! If this address can receive our newsletter, a message with a confirmation "
    "link is on its way. Open it within 7 days to finish subscribing."
)


def client(request):
    """IP and user agent for the consent record."""
    return {"ip": client_ip(request), "user_agent": request.headers.get("User-Agent", "")[:500]}


def client_ip(request):
    """The visitor's IP: ``NUM_PROXIES`` hops back in X-Forwarded-For, else the peer.

    Each trusted proxy appends the address it saw, so the entry that many places from the
    end was written by our outermost proxy; anything before it may be forged.
    """
    hops = settings.NUM_PROXIES
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [p for p in forwarded if p]
    candidate = forwarded[-hops] if hops and len(forwarded) >= hops else None
    if candidate is None:
        candidate = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


def wants_json(request):
    return request.content_type == "application/json" or (
        "application/json" in request.headers.get("Accept", "")
    )


# CSRF protection adds nothing to a double opt-in form (anyone may submit any address, and
# the mailbox owner still has to confirm), and leaving it off lets cached pages carry the
# form and API clients post JSON. Abuse is held off by the honeypot and rate limits.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request):
    newsletters = services.newsletter_model().objects.order_by("name")
    if request.method == "GET":
        preselected = newsletters.filter(slug=request.GET.get("newsletter")).first()
        return render_subscribe(request, SubscribeForm(), newsletters, preselected)
    api = wants_json(request)
    try:
        data = (
            json.loads(request.body or b"{}")
            if request.content_type == "application/json"
            else request.POST
        )
        if not isinstance(data, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return JsonResponse(
            {"ok": False, "errors": {"__all__": ["Send a JSON object."]}}, status=400
        )
    form = SubscribeForm(data)
    if form.is_valid() and not form.is_bot:
        try:
            services.require_client(client_ip(request))
            services.subscribe(
                form.cleaned_data["email"],
                [form.cleaned_data["newsletter"]],
                name=form.cleaned_data["name"],
                source=Source.API if api else Source.FORM,
                **client(request),
            )
        except services.RateLimited as error:
            if api:
                return JsonResponse({"ok": False, "message": str(error)}, status=429)
            return render(request, "subscribers/rate_limited.html", {"message": error}, status=429)
        except ValidationError as error:
            form.add_error("email", error)
    if not form.is_valid():
        if api:
            return JsonResponse({"ok": False, "errors": form.errors.get_json_data()}, status=400)
        selected = form.cleaned_data.get("newsletter") if hasattr(form, "cleaned_data") else None
        return render_subscribe(request, form, newsletters, selected, status=400)
    # The same answer for new, pending, active and bot submissions: nothing to enumerate.
    if api:
        return JsonResponse({"ok": True, "message": CHECK_INBOX})
    return render(request, "subscribers/check_inbox.html", {"message": CHECK_INBOX})


def render_subscribe(request, form, newsletters, newsletter, status=200):
    context = {"form": form, "newsletters": newsletters, "newsletter": newsletter}
    return render(request, "subscribers/subscribe.html", context, status=status)


def invalid_link(request, error):
    expired = isinstance(error, tokens.TokenExpired)
    return render(request, "subscribers/invalid_link.html", {"expired": expired}, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button; only its POST confirms, because link scanners follow GETs."""
    try:
        if request.method == "POST":
            result = services.confirm(token, **client(request))
            return render(request, "subscribers/confirmed.html", {"result": result})
        result = services.preview_confirmation(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if result.already_confirmed:
        return render(request, "subscribers/confirmed.html", {"result": result})
    return render(request, "subscribers/confirm.html", {"result": result})


# Mail clients send RFC 8058 one-click unsubscribes as a bare POST with
# ``List-Unsubscribe=One-Click`` and no cookies: the signed token is the only credential.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        subscriber_id, newsletter_id = tokens.read_unsubscribe_token(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    newsletter = services.newsletter_model().objects.filter(pk=newsletter_id).first()
    # No preferences link here: this token only unsubscribes, and a preferences link would
    # turn it into the rights to download and erase the person's data.
    context = {"newsletter": newsletter, "subscriber": subscriber}
    if request.method == "GET":
        subscribed = subscriber is not None and (
            subscriber.subscriptions.filter(newsletter_id=newsletter_id)
            .exclude(status=Subscription.Status.UNSUBSCRIBED)
            .exists()
        )
        template = "unsubscribe.html" if subscribed else "unsubscribed.html"
        return render(request, f"subscribers/{template}", context)
    if subscriber is not None:
        services.unsubscribe(subscriber, [newsletter_id], source=Source.EMAIL, **client(request))
    return render(request, "subscribers/unsubscribed.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request, token):
    try:
        subscriber = Subscriber.objects.filter(pk=tokens.read_preferences_token(token)).first()
        if subscriber is None:
            raise tokens.InvalidToken("no such subscriber")
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.GET.get("download") == "json":
        response = JsonResponse(services.personal_data(subscriber), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = 'attachment; filename="my-subscriber-data.json"'
        return response
    action = request.POST.get("action", "save")
    message = ""
    form = PreferencesForm(initial=preferences_initial(subscriber))
    if request.method == "POST" and action == "erase":
        if request.POST.get("confirm_erase"):
            services.erase(subscriber)
            return render(request, "subscribers/erased.html")
        message = "Tick the box to confirm that all your data should be deleted."
    elif request.method == "POST" and action == "unsubscribe_all":
        services.unsubscribe(subscriber, source=Source.EMAIL, **client(request))
        message = "You are unsubscribed from everything. Nothing more will be sent."
        form = PreferencesForm(initial=preferences_initial(subscriber))
    elif request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                waiting = services.update_preferences(
                    subscriber,
                    name=form.cleaned_data["name"],
                    newsletter_ids=[n.pk for n in form.cleaned_data["newsletters"]],
                    **client(request),
                )
                if form.cleaned_data["no_tracking"] != subscriber.no_tracking:
                    services.set_no_tracking(subscriber, form.cleaned_data["no_tracking"])
            except services.RateLimited as error:
                waiting, message = [], str(error)
            else:
                message = "Your preferences are saved."
            if waiting:
                message += " We sent you a link to confirm the newsletters you added."
    subscriber.refresh_from_db()
    context = {
        "subscriber": subscriber,
        "form": form,
        "message": message,
        "token": token,
        "privacy_notices": services.privacy_notices(subscriber),
    }
    return render(request, "subscribers/preferences.html", context)


def preferences_initial(subscriber):
    return {
        "name": subscriber.name,
        "no_tracking": subscriber.no_tracking,
        "newsletters": list(
            subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED).values_list(
                "newsletter_id", flat=True
            )
        ),
    }
