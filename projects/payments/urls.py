"""The funding pages (``page_urls``) and the finance reports (``report_urls``), under ``payments:``."""

from .page_urls import urlpatterns as page_urlpatterns
from .report_urls import urlpatterns as report_urlpatterns

app_name = "payments"
urlpatterns = [*page_urlpatterns, *report_urlpatterns]
