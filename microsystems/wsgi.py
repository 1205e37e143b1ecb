import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microsystems.settings.local")
application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their models and URLs) lives as long as the process:
# set it aside so that the collector, which otherwise walks it in full now and then in the middle of
# a request (tens of milliseconds), only ever looks at what requests create.
gc.collect()
gc.freeze()
