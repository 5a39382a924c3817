"""The WSGI application that `poplist web` serves."""

import poplist

poplist.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
