"""The actions (POST only; the Host, Origin and CSRF checks in `app` run first).

Every action is a call into `memories.people` or `memories.memory_choices` (the functions the CLI
verbs call), so a name given here is what `memories people` prints at once, and a re-cluster
keeps it. Each answers with a redirect back to the page it came from (`next`, a local path only),
or JSON when the script asked for it.
"""

from __future__ import annotations

from typing import Any

import flask

from memories import memory_choices, people, service
from memories.web.context import UserError, add_routes, jobs, library, wants_json
from memories.web.security import local_target


def register(app: flask.Flask) -> None:
    add_routes(
        app,
        "POST",
        (
            ("/people/<id:person_id>/name", name_person),
            ("/people/<id:person_id>/merge", merge_people),
            ("/people/<id:person_id>/unmerge", unmerge_person),
            ("/people/<id:person_id>/hide", hide_person),
            ("/people/<id:person_id>/pin", pin_person),
            ("/people/different", different_people),
            ("/people/undo", undo),
            ("/faces/<id:face_id>/confirm", confirm_face),
            ("/faces/<id:face_id>/reject", reject_face),
            ("/faces/<id:face_id>/name", name_face),
            ("/faces/<id:face_id>/key", key_face),
            ("/faces/bulk", bulk_faces),
            ("/memories/make", make_memory),
            ("/memories/hide", hide_memory),
            ("/memories/feature-less", feature_less),
            ("/memories/edit", edit_memory),
        ),
    )


def field(name: str, default: str = "") -> str:
    value = flask.request.form.get(name, default)
    return " ".join(value.split()) if isinstance(value, str) else default


def back(fallback: str, **data: Any) -> Any:
    """The page the form came from (only a path on this site), or JSON for the script."""
    if wants_json():
        return flask.jsonify(ok=True, **data)
    return flask.redirect(local_target(flask.request.form.get("next"), fallback), 303)


def _person_field(name: str) -> str:
    value = field(name)
    if not value:
        raise UserError(400, "Choose a person first.")
    return value


def name_person(person_id: int) -> Any:
    kept = people.name_person(library(), person_id, field("name"))
    return back(f"/people/{kept}", id=kept)


def merge_people(person_id: int) -> Any:
    kept = people.merge_people(library(), person_id, _person_field("other"))
    return back(f"/people/{kept}", id=kept)


def unmerge_person(person_id: int) -> Any:
    other = field("other") or None
    separated = people.unmerge(library(), person_id, other)
    return back(f"/people/{separated}", id=separated)


def hide_person(person_id: int) -> Any:
    hidden = field("hidden", "1") == "1"
    people.hide_person(library(), person_id, hidden)
    return back("/people" if hidden else f"/people/{person_id}")


def pin_person(person_id: int) -> Any:
    people.pin_person(library(), person_id, field("pinned", "1") == "1")
    return back(f"/people/{person_id}")


def different_people() -> Any:
    people.not_same_person(library(), _person_field("a"), _person_field("b"))
    return back("/people")


def undo() -> Any:
    done = people.undo_last(library())
    if done is None:
        raise UserError(400, "There is nothing to undo.")
    return back("/people", undone=done)


def confirm_face(face_id: int) -> Any:
    person_id = people.confirm_face(library(), face_id, field("person") or None)
    return back(f"/people/{person_id}", id=person_id)


def reject_face(face_id: int) -> Any:
    person_id = people.reject_face(library(), face_id, field("person") or None)
    return back(f"/people/{person_id}", id=person_id)


def name_face(face_id: int) -> Any:
    """ "Who is this?": an existing person's name (or label) confirms the face as them; a new name
    makes a new person."""
    lib = library()
    typed = field("name")
    if not typed:
        raise UserError(400, "Type a name first.")
    try:
        person_id = people.confirm_face(lib, face_id, people.resolve_person(lib, typed))
    except people.PersonNotFound:
        person_id = people.name_face(lib, face_id, typed)
    return back(f"/people/{person_id}", id=person_id)


def key_face(face_id: int) -> Any:
    person_id = people.choose_key_face(library(), face_id)
    return back(f"/people/{person_id}", id=person_id)


def bulk_faces(*_: Any) -> Any:
    """Several faces at once, from the person page's checkboxes: confirm, reject or move."""
    faces = [int(v) for v in flask.request.form.getlist("face") if v.isdigit() and len(v) < 19]
    if not faces:
        raise UserError(400, "Select at least one photo first.")
    if len(faces) > 1000:
        raise UserError(400, "At most 1,000 photos at once.")
    action = field("action")
    person = field("person") or None
    lib = library()
    if action == "confirm":
        people.confirm_faces(lib, faces, person)
    elif action == "reject":
        people.reject_faces(lib, faces, person)
    elif action == "move":
        people.move_faces(lib, faces, _person_field("to"))
    else:
        raise UserError(400, "Choose confirm, reject or move.")
    return back("/people", count=len(faces))


# --- memories -----------------------------------------------------------------------------------
def _key() -> str:
    key = field("key")
    if not key or len(key) > 500:
        raise UserError(400, "Which memory?")
    return key


def make_memory() -> Any:
    key = _key()
    job = jobs().start(key, lambda lib, progress: service.make_memory(lib, key, progress))
    if wants_json():
        return flask.jsonify(job.as_dict()), 202
    return flask.redirect(f"/memories?job={job.id}", 303)


def hide_memory() -> Any:
    memory_choices.hide(library(), _key(), field("hidden", "1") == "1")
    return back("/memories")


def feature_less() -> Any:
    """ "Feature these people less": every featured person of the memory, each a single choice."""
    lib = library()
    chosen = [v for v in flask.request.form.getlist("person") if v.isdigit() and len(v) < 19]
    if not chosen:
        raise UserError(400, "This memory features nobody.")
    for person_id in chosen:
        memory_choices.feature(lib, "person", str(people.resolve_person(lib, person_id)), "less")
    return back("/memories")


def edit_memory() -> Any:
    from memories.render import settings as render_settings

    lib = library()
    key = _key()
    for name in ("title", "mood", "length"):
        if name in flask.request.form:
            value = field(name)
            if name == "title" and len(value) > 120:
                raise UserError(400, "A title can have at most 120 characters.")
            if value and name == "mood" and value not in render_settings.MOODS:
                raise UserError(400, f"There is no mood “{value}”.")
            if value and name == "length" and value not in render_settings.LENGTH_SECONDS:
                raise UserError(400, "A length is short, medium or long.")
            memory_choices.edit(lib, key, name, value or None)
    return back("/memories")
