"""Public pages of the audience: subscribe, confirm, unsubscribe, preferences."""

from django.http import HttpResponse


def unsubscribe(request, token):
    return HttpResponse("Not yet.", status=501)


def preferences(request, token):
    return HttpResponse("Not yet.", status=501)
