"""Tag storage rules enforced by the database, and race-safe creation on the fly."""

import random
import threading
import uuid

import pytest
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import Tag, Task, TaskTag, User
from app.schemas.task import TaskCreate
from app.schemas.values import tag_key
from app.services import lists as list_service
from app.services import tags as tag_service
from app.services import tasks as task_service


def _user(session: Session) -> User:
    user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
    session.add(user)
    session.flush()
    return user


def test_a_task_cannot_carry_another_users_tag(session: Session) -> None:
    alice, bob = _user(session), _user(session)
    inbox = list_service.ensure_inbox(session=session, user_id=alice.id)
    task = Task(user_id=alice.id, title="alice's", list_id=inbox)
    session.add(task)
    session.flush()
    (bobs_tag,) = tag_service.resolve_tags(session=session, user_id=bob.id, names=["bob"])
    for owner in (alice.id, bob.id):
        savepoint = session.begin_nested()
        with pytest.raises(IntegrityError):
            session.execute(
                insert(TaskTag).values(task_id=task.id, tag_id=bobs_tag.id, user_id=owner)
            )
        savepoint.rollback()


def test_resolve_tags_reuses_existing_names_case_insensitively(session: Session) -> None:
    user = _user(session)
    first = tag_service.resolve_tags(session=session, user_id=user.id, names=["Straße", "Work"])
    again = tag_service.resolve_tags(
        session=session, user_id=user.id, names=["WORK", "STRASSE", "new"]
    )
    assert {tag.name for tag in again} == {"Straße", "Work", "new"}
    assert {tag.id for tag in first} <= {tag.id for tag in again}


def _race(engine: Engine, user_id: uuid.UUID, spellings: list[list[str]]) -> list[set[str]]:
    barrier = threading.Barrier(len(spellings))
    results: list[set[str]] = [set() for _ in spellings]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                barrier.wait(timeout=10)
                # As the API does it: create a task that names the tags.
                view = task_service.create_task(
                    session=session,
                    user_id=user_id,
                    task_in=TaskCreate(title="race", tags=spellings[index]),
                )
                results[index] = {tag_key(name) for name in view.tags}
                ids = session.scalars(
                    select(TaskTag.tag_id).where(col(TaskTag.task_id) == view.task.id)
                ).all()
                results[index] |= {str(tag_id) for tag_id in ids}
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(spellings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_concurrent_creation_of_the_same_names_never_fails_or_duplicates(
    engine: Engine,
) -> None:
    # Real concurrent transactions: this test commits, so it cleans up its own user.
    with Session(engine, expire_on_commit=False) as session:
        user = _user(session)
        session.commit()
    try:
        names = [f"Tag{i}" for i in range(8)]
        rng = random.Random(3)
        for _ in range(3):
            spellings = []
            for _worker in range(4):
                shuffled = [rng.choice([n, n.upper(), n.lower()]) for n in names]
                rng.shuffle(shuffled)
                spellings.append(shuffled)
            results = _race(engine, user.id, spellings)
            assert all(result == results[0] for result in results)
            assert len(results[0]) == 2 * len(names)  # every name and one id per name
            with Session(engine) as session:
                rows = session.exec(select(Tag).where(col(Tag.user_id) == user.id)).all()
                assert len(rows) == len(names)
                session.execute(delete(Task).where(col(Task.user_id) == user.id))
                session.execute(delete(Tag).where(col(Tag.user_id) == user.id))
                session.commit()
    finally:
        with Session(engine) as session:
            session.execute(delete(User).where(col(User.id) == user.id))
            session.commit()
