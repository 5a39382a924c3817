"""Reading Mailman 2.1's config.pck without ever running code from it.

A pickle is a small program: its GLOBAL opcodes name any importable callable and REDUCE
calls it, so `pickle.load` on a customer's file would run whatever it says. Python's own
documentation (“Restricting Globals”) gives the cure used here: an Unpickler whose
`find_class` refuses every name but the ones a genuine config.pck contains.

Mailman 2.1 writes config.pck with `cPickle.dump(dict, fp, 1)` from Python 2: builtin
types only (dict, list, tuple, str, unicode, int, long, float, None, bools written as
INT 01/00), plus one class: the classic `Mailman.Bouncer._BounceInfo` instances kept in
`bounce_info` (written with the OBJ and BUILD opcodes). Some 2.1 builds give that class
a base, which pickles through `copy_reg._reconstructor(cls, object, None)`; that exact
form is accepted too, with stand-ins that only hold data. Nothing else is.
"""

from __future__ import annotations

import pickle
from typing import Any, BinaryIO

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

MAX_CONFIG_BYTES = 512 * 1024 * 1024  # a 1,000,000-member list's config.pck is ~150 MB


class BounceInfo:
    """Stand-in for Mailman.Bouncer._BounceInfo: a bag of data (member, score, date, noticesleft…)."""

    def __init__(self) -> None:  # takes no arguments: a REDUCE that passes any is refused
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("bounce info state is not a dictionary")
        self.state = {_text_key(key): value for key, value in state.items()}


def _text_key(key: Any) -> str:
    return key.decode("latin-1") if isinstance(key, bytes) else str(key)


def _reconstructor(cls: Any, base: Any, state: Any) -> BounceInfo:
    """copy_reg._reconstructor, for the one class and base a config.pck can name; anything else is refused."""
    if cls is not BounceInfo or base is not object or state is not None:
        raise pickle.UnpicklingError("copy_reg._reconstructor called with something else than bounce info")
    return BounceInfo()


# (module, name) as Python 3's unpickler sees them: it maps Python 2's copy_reg and
# __builtin__ to copyreg and builtins before asking find_class.
_ALLOWED = {
    ("Mailman.Bouncer", "_BounceInfo"): BounceInfo,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a Mailman config.pck") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed in a Mailman config.pck")


def load_config_pck(stream: BinaryIO, *, name: str = "config.pck") -> dict:
    """The configuration dictionary, with Python 2 byte strings left as bytes (decoded later, per charset)."""
    data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise InvalidInput(_("%(name)s is larger than any Mailman list's configuration; refused."), name=name)
    try:
        import io

        config = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, TypeError, ValueError, EOFError, AttributeError, IndexError, KeyError) as exc:
        # Said plainly and refused whole: a config.pck that names any other class or
        # callable is not one Mailman wrote, and nothing of it is read.
        raise InvalidInput(
            _(
                "%(name)s is not a Mailman 2.1 list configuration Poplist can read safely (%(reason)s); "
                "nothing was imported."
            ),
            name=name,
            reason=str(exc)[:200] or type(exc).__name__,
        ) from None
    except RecursionError:
        raise InvalidInput(_("%(name)s is nested too deeply to be a Mailman list configuration."), name=name) from None
    if not isinstance(config, dict):
        raise InvalidInput(_("%(name)s does not hold a Mailman list configuration."), name=name)
    return {_text_key(key): value for key, value in config.items()}
