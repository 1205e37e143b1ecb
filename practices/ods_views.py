"""Pages for uploading the NHS ODS practice file and following the import's progress."""
# Being written: upload and import_detail views.
from django.http import HttpResponse


def upload(request):  # type: ignore[no-untyped-def]
    return HttpResponse("")


def import_detail(request, pk):  # type: ignore[no-untyped-def]
    return HttpResponse("")
