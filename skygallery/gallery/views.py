"""Web pages (server-rendered). Logic lives in the services."""
from __future__ import annotations

from django import forms
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render

from .errors import InvalidInput
from .services.accounts import set_role
from .services.search import search_products


def home(request):
    params = {k: v for k, v in request.GET.items() if v}
    errors, page = [], None
    try:
        page = search_products(params)
    except InvalidInput as exc:
        errors = exc.errors
    return render(request, "gallery/home.html", {"page": page, "errors": errors})


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"


class LogoutView(auth_views.LogoutView):
    pass


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        set_role(user, "reader")
        auth.login(request, user)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
