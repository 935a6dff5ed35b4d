"""gello's Django app, with Django's test runner (run by tests/contrib/test_django.py)."""

from __future__ import annotations

import contextlib

from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase

from gello_queue import default_queue, default_registry, testing
from gello_queue.contrib.django import dispatch
from gello_queue.contrib.django.management.commands.gello import child_env

from .jobs import Greet
from .models import Member


class Rolled(Exception):
    pass


class AfterCommitTests(TransactionTestCase):
    def setUp(self) -> None:
        self.fake = testing.fake()
        self.addCleanup(self.fake.restore)

    def test_held_until_the_transaction_commits_then_sent_once(self) -> None:
        with transaction.atomic():
            Member.objects.create(email="ada@example.com")
            assert dispatch(Greet.make(member_id=1), after_commit=True) is None
            self.fake.assert_nothing_pushed()
        self.fake.assert_pushed_times(Greet, 1)
        with transaction.atomic():
            Member.objects.create(email="bob@example.com")
        self.fake.assert_pushed_times(Greet, 1)

    def test_dropped_when_the_transaction_rolls_back(self) -> None:
        with contextlib.suppress(Rolled), transaction.atomic():
            Member.objects.create(email="ada@example.com")
            dispatch(Greet.make(member_id=1), after_commit=True)
            raise Rolled
        self.fake.assert_nothing_pushed()
        assert not Member.objects.exists()

    def test_a_rolled_back_savepoint_drops_only_its_own(self) -> None:
        with transaction.atomic():
            dispatch(Greet.make(member_id=1), after_commit=True)
            with contextlib.suppress(Rolled), transaction.atomic():
                dispatch(Greet.make(member_id=2), after_commit=True)
                raise Rolled
        self.fake.assert_pushed_times(Greet, 1)
        self.fake.assert_pushed(Greet, lambda p: p.member_id == 1)

    def test_outside_a_transaction_it_is_sent_at_once(self) -> None:
        dispatch(Greet.make(member_id=1), after_commit=True)
        self.fake.assert_pushed_times(Greet, 1)

    def test_without_after_commit_it_is_sent_at_once_with_its_id(self) -> None:
        with transaction.atomic():
            job_id = dispatch(Greet.make(member_id=1))
            self.fake.assert_pushed(Greet, lambda p, job: job.id == job_id)


class AppTests(SimpleTestCase):
    def test_the_queue_comes_from_the_django_settings(self) -> None:
        settings = default_queue().settings
        assert default_queue().url == "memory://gello-django-tests"
        assert settings.queue_default == "web"
        assert settings.redis_url == "redis://queue-host:6379/2"
        # The app's own DATABASE_URL is not the queue's (only GELLO_DATABASE_URL is).
        assert settings.database_url != "postgresql://the-app-database/not-the-queue"

    def test_each_app_s_jobs_module_is_imported(self) -> None:
        assert "members.Greet" in default_registry

    def test_manage_py_gello_runs_the_cli_with_the_settings_and_the_jobs(self) -> None:
        env = child_env()
        assert env["QUEUE_URL"] == "memory://gello-django-tests"
        assert env["QUEUE_DEFAULT"] == "web"
        assert env["REDIS_URL"] == "redis://queue-host:6379/2"
        assert env["GELLO_APP"] == "gello_queue.contrib.django.worker"
