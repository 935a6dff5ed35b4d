"""The shop's tests, with Django's test runner: python manage.py test."""

from django.test import TransactionTestCase

from gello_queue import default_queue, testing
from shop.jobs import SendWelcomeEmail
from shop.models import Member


class SettingsTests(TransactionTestCase):
    def test_the_queue_comes_from_the_django_settings(self) -> None:
        queue = default_queue()
        assert queue.url.endswith("queue.db")
        assert queue.settings.queue_default == "web"


class SignupTests(TransactionTestCase):
    def setUp(self) -> None:
        self.fake = testing.fake()
        self.addCleanup(self.fake.restore)

    def test_a_committed_signup_queues_the_email_once(self) -> None:
        response = self.client.post("/signup", {"email": "ada@example.com"})
        assert response.status_code == 201
        self.fake.assert_pushed_times(SendWelcomeEmail, 1)
        self.fake.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")

    def test_a_rolled_back_signup_queues_nothing(self) -> None:
        response = self.client.post("/signup", {"email": "bot@spam.example"})
        assert response.status_code == 422
        self.fake.assert_nothing_pushed()
        assert not Member.objects.exists()
