"""The form for uploading the NHS ODS practice file: it refuses a file that is not epraccur.csv."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from .models import Commissioner
from .ods import OdsFileError, ParsedFile, parse

MAX_UPLOAD_MB = 20


class OdsUploadForm(forms.Form):
    file = forms.FileField(
        label="The epraccur.csv file",
        help_text="The GP practices file from NHS ODS, unzipped: epraccur.csv, up to 20 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    commissioner = forms.ModelChoiceField(
        queryset=Commissioner.objects.none(),
        label="Import the practices of",
        empty_label="Choose a commissioner",
    )
    include_non_gp = forms.BooleanField(
        required=False,
        label="Also import non-GP settings",
        help_text="Walk-in centres, out-of-hours, community and other services the file lists beside GP practices.",
    )

    def __init__(self, *args: Any, commissioners: QuerySet[Commissioner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_bytes = b""
        self.parsed: ParsedFile | None = None
        choices = list(commissioners.order_by("name"))
        self.only_commissioner = choices[0] if len(choices) == 1 else None
        if self.only_commissioner is not None:
            del self.fields["commissioner"]
        else:
            cast(forms.ModelChoiceField, self.fields["commissioner"]).queryset = commissioners.order_by("name")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's form has its token

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD_MB} MB. epraccur.csv for the whole of England is about 4 MB: "
                "check that you chose the right file."
            )
        upload.seek(0)
        self.data_bytes = upload.read()
        try:
            self.parsed = parse(self.data_bytes)
        except OdsFileError as e:
            raise forms.ValidationError(str(e)) from e
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        commissioner = self.chosen_commissioner
        if self.parsed is None or commissioner is None:
            return cleaned
        if not any(row.commissioner_code == commissioner.ods_code for row in self.parsed.rows):
            self.add_error(
                "file",
                f"The file has no practices of {commissioner.name} ({commissioner.ods_code}) "
                "in its commissioner column, so there is nothing to import.",
            )
        return cleaned

    @property
    def chosen_commissioner(self) -> Commissioner | None:
        return self.only_commissioner or getattr(self, "cleaned_data", {}).get("commissioner")
