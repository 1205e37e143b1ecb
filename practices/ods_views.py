"""Pages for uploading the NHS ODS practice file and following the import's progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404

from .forms_ods import OdsUploadForm
from .models import OdsImport, ProgrammeRoleKind
from .ods import start_import
from .selectors import commissioners_for

PERMISSION = "practices.import_ods"
RECENT_IMPORTS = 5


def _imports_for(request: AuthenticatedRequest) -> QuerySet[OdsImport]:
    """The imports of the commissioners the user leads."""
    return OdsImport.objects.filter(
        commissioner__in=commissioners_for(request.user, ProgrammeRoleKind.LEAD)
    ).select_related("commissioner", "uploaded_by")


@login_required
def upload(request: AuthenticatedRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise deny(request, PERMISSION)
    form = OdsUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        commissioners=commissioners_for(request.user, ProgrammeRoleKind.LEAD),
    )
    if request.method == "POST" and form.is_valid():
        assert form.parsed is not None and form.chosen_commissioner is not None
        ods_import = start_import(
            commissioner=form.chosen_commissioner,
            file_name=form.cleaned_data["file"].name,
            data=form.data_bytes,
            total=form.parsed.total,
            include_non_gp=form.cleaned_data["include_non_gp"],
            by=request.user,
        )
        messages.success(request, f"{ods_import.file_name} is uploaded and being imported.")
        return redirect(ods_import)
    return render(
        request,
        "practices/import_upload.html",
        {"form": form, "recent_imports": _imports_for(request)[:RECENT_IMPORTS]},
    )


@login_required
def import_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise deny(request, PERMISSION)
    ods_import = get_in_scope_or_404(_imports_for(request), request, pk=pk)
    partial = request.headers.get("HX-Request") == "true"
    template = "practices/_import_progress.html" if partial else "practices/import_detail.html"
    response = render(request, template, {"ods_import": ods_import})
    patch_vary_headers(response, ["HX-Request"])
    return response
