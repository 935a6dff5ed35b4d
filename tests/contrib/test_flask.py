"""The Flask extension against the real framework, with Flask-SQLAlchemy on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from web_jobs import Welcome

from gello_queue import ConfigurationError, default_queue, set_default_queue, testing
from gello_queue.contrib.flask import Gello
from gello_queue.testing import FakeQueue


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Member(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)


gello = Gello()


def create_app(database: Path, **config: object) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    app.config.update(config)
    db.init_app(app)
    gello.init_app(app)
    with app.app_context():
        db.create_all()

    @app.post("/members/<int:member_id>")
    def join(member_id: int) -> dict[str, int]:
        db.session.add(Member(id=member_id))
        gello.dispatch(Welcome.make(user_id=member_id), after_commit=True)
        if member_id == 13:
            abort(500)  # the request fails before its commit
        db.session.commit()
        return {"member": member_id}

    @app.post("/now/<int:member_id>")
    def now(member_id: int) -> dict[str, str | None]:
        return {"job": gello.dispatch(Welcome.make(user_id=member_id))}

    return app


@pytest.fixture
def fake() -> Iterator[FakeQueue]:
    with testing.fake() as queue:
        yield queue


def test_a_committed_request_sends_its_job_once(tmp_path: Path, fake: FakeQueue) -> None:
    client = create_app(tmp_path / "app.db").test_client()
    assert client.post("/members/1").status_code == 200
    fake.assert_pushed_times(Welcome, 1)
    fake.assert_pushed(Welcome, lambda p: p.user_id == 1)
    client.post("/members/2")
    fake.assert_pushed_times(Welcome, 2)


def test_a_request_that_fails_before_its_commit_sends_nothing(
    tmp_path: Path, fake: FakeQueue
) -> None:
    app = create_app(tmp_path / "app.db")
    client = app.test_client()
    assert client.post("/members/13").status_code == 500
    fake.assert_nothing_pushed()
    client.post("/members/2")  # the session the failed request left sends only its own
    fake.assert_pushed_times(Welcome, 1)
    with app.app_context():
        assert [m.id for m in db.session.scalars(db.select(Member))] == [2]


def test_dispatch_without_after_commit_sends_at_once(tmp_path: Path, fake: FakeQueue) -> None:
    client = create_app(tmp_path / "app.db").test_client()
    job_id = client.post("/now/5").get_json()["job"]
    fake.assert_pushed(Welcome, lambda p, job: p.user_id == 5 and job.id == job_id)


def test_the_app_config_describes_the_default_queue(tmp_path: Path) -> None:
    url = f"memory://gello-flask-{uuid.uuid4().hex}"
    try:
        create_app(tmp_path / "app.db", QUEUE_URL=url, QUEUE_DEFAULT="web")
        queue = default_queue()
        assert queue.url == url
        assert queue.settings.queue_default == "web"
        with pytest.raises(ConfigurationError, match="QUEUE_MAX_TRIES"):
            create_app(tmp_path / "other.db", QUEUE_MAX_TRIES=0)
    finally:
        set_default_queue(None)


def test_after_commit_needs_flask_sqlalchemy() -> None:
    app = Flask(__name__)
    Gello(app)
    with app.app_context(), pytest.raises(ConfigurationError, match="Flask-SQLAlchemy"):
        Gello().dispatch(Welcome.make(user_id=1), after_commit=True)
