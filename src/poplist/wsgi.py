"""The WSGI application that `poplist web` serves."""

import poplist

poplist.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

from poplist.sites.serving import wrap  # noqa: E402
from poplist.web.oneclick_wsgi import wrap as one_click  # noqa: E402

# Customers' sites by Host header; RFC 8058 one-click POSTs before Django (web/oneclick_wsgi.py); Django for the rest.
application = wrap(one_click(get_wsgi_application()))
