"""The WSGI application that `poplist web` serves."""

import poplist

poplist.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

from poplist.sites.serving import wrap  # noqa: E402

application = wrap(get_wsgi_application())  # customers' sites by Host header, Django for the rest
