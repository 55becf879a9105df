"""Sign in/out/up and the user's API tokens."""
from __future__ import annotations

from django import forms
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import GalleryError
from ..services.accounts import create_token, revoke_token, role_of, set_role
from .forms import TokenForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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
        messages.success(request, f"Welcome, {user.username}.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = create_token(request.user, form.cleaned_data["name"], form.cleaned_data["days"])
        form = TokenForm()
    return render(request, "gallery/tokens.html", {
        "form": form, "new_token": new_token, "tokens": request.user.api_tokens.all(), "role": role_of(request.user)})


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        revoke_token(request.user, token_id)
        messages.success(request, "Token revoked.")
    except GalleryError as exc:
        messages.error(request, exc.message)
    return redirect("tokens")
