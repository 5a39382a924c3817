"""Middleware of the web pages: the user's language, and PoplistErrors rendered as pages."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import translation

from poplist.core.errors import PoplistError


class UserLanguageMiddleware:
    """A logged-in user's own language wins over the cookie and Accept-Language (LocaleMiddleware's choice)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "language", ""):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


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
