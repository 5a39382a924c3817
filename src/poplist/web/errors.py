"""Error pages for URLs that match nothing and for bugs: a sentence, never a traceback."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"message": _("There is nothing at this address.")}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"message": _("Something went wrong on our side; nothing you sent was lost. Please try again in a moment.")},
        status=500,
    )
