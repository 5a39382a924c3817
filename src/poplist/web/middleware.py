"""Turn a PoplistError raised by a service into a page in the visitor's language, never a traceback."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import translation

from poplist.core.errors import PoplistError


class PoplistErrorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PoplistError):
            with translation.override(getattr(request, "poplist_language", None) or translation.get_language()):
                return render(request, "web/error.html", {"message": str(exception)}, status=exception.http_status)
        return None
