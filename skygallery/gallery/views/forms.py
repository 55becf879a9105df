"""Forms of the browsing pages; their cleaned data become service search parameters."""
from __future__ import annotations

import re

from django import forms

ISOT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")
INSTRUMENTS = [("", "All instruments"), ("isgri", "ISGRI"), ("jemx", "JEM-X (either)"), ("jemx1", "JEM-X1"),
               ("jemx2", "JEM-X2"), ("spiacs", "SPI-ACS")]
FAMILIES = [("", "All products"), ("image", "Image"), ("spectrum", "Spectrum"), ("lightcurve", "Light curve")]
SORTS = [("-time", "Newest data first"), ("time", "Oldest data first"), ("rev", "Revolution"),
         ("title", "Title")]


def isot_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text="Use ISOT format - YYYY-MM-DDTHH:MM:SS",
                           widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DDTHH:MM:SS", "inputmode": "numeric"}))


class ProductFilterForm(forms.Form):
    instrument = forms.ChoiceField(choices=INSTRUMENTS, required=False)
    family = forms.ChoiceField(label="Product type", choices=FAMILIES, required=False)
    t1 = isot_field("Tstart")
    t2 = isot_field("Tstop")
    e1 = forms.FloatField(label="E min (keV)", required=False, min_value=0)
    e2 = forms.FloatField(label="E max (keV)", required=False, min_value=0)
    rev = forms.IntegerField(label="Revolution", required=False, min_value=1, max_value=9999)
    source = forms.CharField(label="Source", required=False, max_length=128,
                             widget=forms.TextInput(attrs={"placeholder": "name or alias"}))
    q = forms.CharField(label="Title contains", required=False, max_length=100)
    sort = forms.ChoiceField(choices=SORTS, required=False)

    def clean_t1(self):
        return self._isot("t1")

    def clean_t2(self):
        return self._isot("t2")

    def _isot(self, name):
        value = (self.cleaned_data.get(name) or "").strip()
        if value and not ISOT.match(value):
            raise forms.ValidationError("Use ISOT format - YYYY-MM-DDTHH:MM:SS (fractional seconds allowed)")
        return value

    def clean(self):
        data = super().clean()
        e1, e2 = data.get("e1"), data.get("e2")
        if e1 is not None and e2 is not None and e1 >= e2:
            self.add_error("e2", "E max must be larger than E min")
        return data

    def search_params(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class SourceFilterForm(forms.Form):
    q = forms.CharField(label="Source name", required=False, max_length=128,
                        widget=forms.TextInput(attrs={"placeholder": "name or alias"}))
    object_type = forms.CharField(label="Source type", required=False, max_length=32,
                                  widget=forms.TextInput(attrs={"placeholder": "e.g. LowMassXBin", "list": "otypes"}))
    sort = forms.ChoiceField(choices=[(s, s) for s in ("name", "-name", "ra", "-ra", "dec", "-dec", "type", "-type")],
                             required=False)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="api")
    days = forms.IntegerField(label="Valid for (days)", required=False, min_value=1, max_value=3650,
                              help_text="Empty: never expires")
