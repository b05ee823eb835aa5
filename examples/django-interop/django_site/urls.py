"""Three views: a login form, who am I (with the cart the Node service fills), log out."""

from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_POST

FORM = """<!doctype html><title>Log in</title>
<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="%s">
<p><input name="username" placeholder="username"> <input name="password" type="password">
<button>Log in</button></p><p>%s</p></form>"""


@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        return HttpResponse(FORM % (get_token(request), ""))
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse(FORM % (get_token(request), escape("Wrong username or password.")), status=401)
    login(request, user)
    return JsonResponse({"user": user.get_username()})


def me(request):
    user = request.user.get_username() if request.user.is_authenticated else None
    return JsonResponse({"user": user, "cart": request.session.get("cart", [])})


@require_POST
def logout_view(request):
    logout(request)
    return JsonResponse({"user": None})


urlpatterns = [
    path("login/", login_view),
    path("me/", me),
    path("logout/", logout_view),
]
