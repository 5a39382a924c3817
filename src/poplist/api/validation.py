"""Validation errors of request bodies and parameters, one translated sentence per field."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "missing": _("This field is required."),
    "string_type": _("Expected text."),
    "int_type": _("Expected a whole number."),
    "int_parsing": _("Expected a whole number."),
    "float_parsing": _("Expected a number."),
    "float_type": _("Expected a number."),
    "bool_type": _("Expected true or false."),
    "bool_parsing": _("Expected true or false."),
    "list_type": _("Expected a list."),
    "dict_type": _("Expected an object."),
    "model_type": _("Expected an object."),
    "model_attributes_type": _("Expected an object."),
    "json_invalid": _("The body is not valid JSON."),
    "string_too_long": _("This text is too long."),
    "string_too_short": _("This text is too short."),
    "too_long": _("Too many items."),
    "too_short": _("Too few items."),
    "greater_than_equal": _("This number is too small."),
    "greater_than": _("This number is too small."),
    "less_than_equal": _("This number is too large."),
    "less_than": _("This number is too large."),
    "enum": _("This value is not one of the allowed choices."),
    "literal_error": _("This value is not one of the allowed choices."),
    "extra_forbidden": _("This field is not allowed here."),
    "datetime_parsing": _("Expected a date and time (ISO 8601)."),
    "datetime_from_date_parsing": _("Expected a date and time (ISO 8601)."),
}


def field_errors(errors: list[dict]) -> list[dict]:
    """[{"field": "body.email", "message": "…", "type": "missing"}] from pydantic's error list."""
    out = []
    for error in errors:
        kind = str(error.get("type", ""))
        location = [str(part) for part in error.get("loc", ())]
        if len(location) > 2 and location[0] in ("body", "form", "file"):
            del location[1]  # the view's parameter name ("body"): not the client's business
        message = MESSAGES.get(kind)
        out.append(
            {
                "field": ".".join(location),
                "message": str(message) if message is not None else str(error.get("msg", "")),
                "type": kind,
            }
        )
    return out
