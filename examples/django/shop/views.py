from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gello_queue.contrib.django import dispatch
from shop.jobs import SendWelcomeEmail
from shop.models import Member


class Refused(Exception):
    pass


def sign_up(email: str) -> None:
    with transaction.atomic():
        Member.objects.create(email=email)
        # Sent when the transaction commits; dropped if it rolls back.
        dispatch(SendWelcomeEmail.make(email=email), after_commit=True)
        if email.endswith("@spam.example"):
            raise Refused(email)


@csrf_exempt
@require_POST
def signup(request: HttpRequest) -> JsonResponse:
    try:
        sign_up(request.POST["email"])
    except Refused:
        return JsonResponse({"error": "refused"}, status=422)
    return JsonResponse({"member": request.POST["email"]}, status=201)
