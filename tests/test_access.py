"""artcnn.access: the acting user, Streamlit's sign-in settings read, and server folders inside allowed roots."""

import os
import threading

import pytest

from artcnn.access import (acting_as, allowed_roots, check_server_folder, current_user, files_inside, inside,
                           set_current_user, sign_in_providers, user_name)


@pytest.fixture
def roots(tmp_path):
    collection = tmp_path / "collections" / "paintings"
    (collection / "room 1").mkdir(parents=True)
    (tmp_path / "private").mkdir()
    return collection, tmp_path / "private"


def test_allowed_roots_come_from_the_environment_resolved_and_existing(roots, tmp_path):
    collection, private = roots
    (tmp_path / "link").symlink_to(collection)
    text = os.pathsep.join([str(tmp_path / "link"), "", str(tmp_path / "missing"),
                            str(collection / ".." / "paintings")])
    assert allowed_roots({"ARTCNN_COLLECTIONS": text}) == [collection]
    assert allowed_roots({}) == [] and allowed_roots({"ARTCNN_COLLECTIONS": " "}) == []


def test_a_folder_inside_a_root_is_accepted_absolute_or_relative(roots):
    collection, _ = roots
    assert check_server_folder(str(collection / "room 1"), [collection]) == collection / "room 1"
    assert check_server_folder(f"  {collection}  ", [collection]) == collection
    assert check_server_folder("room 1", [collection]) == collection / "room 1"
    assert check_server_folder("room 1/../room 1", [collection]) == collection / "room 1"


@pytest.mark.parametrize("how", ["absolute elsewhere", "dot-dot", "relative dot-dot", "symlink out"])
def test_a_folder_outside_every_root_is_refused(roots, how):
    collection, private = roots
    (collection / "shortcut").symlink_to(private)
    typed = {"absolute elsewhere": str(private), "dot-dot": str(collection / ".." / ".." / "private"),
             "relative dot-dot": "../../private", "symlink out": str(collection / "shortcut")}[how]
    with pytest.raises(ValueError, match="is outside the collections this server may read: choose a folder inside"):
        check_server_folder(typed, [collection])
    assert not inside(typed if os.path.isabs(typed) else collection / typed, [collection])


def test_files_that_link_out_of_every_root_are_set_apart(roots):
    collection, private = roots
    (private / "secret.png").write_bytes(b"private")
    (collection / "room 1" / "own.png").write_bytes(b"own")
    (collection / "room 1" / "link.png").symlink_to(private / "secret.png")
    (collection / "alias.png").symlink_to(collection / "room 1" / "own.png")  # a link that stays inside
    files = sorted(collection.rglob("*.png"))
    kept, outside = files_inside(files, [collection])
    assert sorted(kept) == [collection / "alias.png", collection / "room 1" / "own.png"]
    assert outside == [collection / "room 1" / "link.png"]


def test_missing_and_empty_folders_and_no_roots_say_so(roots):
    collection, private = roots
    with pytest.raises(ValueError, match="There is no folder 'room 2' in the collections"):
        check_server_folder("room 2", [collection])
    with pytest.raises(ValueError, match="Type the path of a folder inside"):
        check_server_folder("  ", [collection])
    (collection / "a.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="There is no folder"):
        check_server_folder(str(collection / "a.png"), [collection])
    with pytest.raises(ValueError, match="reads no folders of its own: an administrator names"):
        check_server_folder(str(collection), [])
    # Outside the roots, a path that does not exist is refused as outside: nothing is told about it.
    with pytest.raises(ValueError, match="is outside"):
        check_server_folder(str(private / "nothing here"), [collection])
    with pytest.raises(ValueError, match="Received: text=None"):
        check_server_folder(None, [collection])


def test_sign_in_providers_read_from_the_auth_section():
    assert sign_in_providers(None) == [] and sign_in_providers({}) == []
    assert sign_in_providers({"redirect_uri": "x", "cookie_secret": "y"}) == []
    assert sign_in_providers({"redirect_uri": "x", "client_id": "a", "server_metadata_url": "u"}) == [None]
    assert sign_in_providers({"redirect_uri": "x", "microsoft": {"client_id": "a"}, "google": {"client_id": "b"},
                              "other": "text"}) == ["google", "microsoft"]


def test_user_name_is_the_signed_in_persons_email_else_name():
    assert user_name({"is_logged_in": True, "email": "ana@museum.org", "name": "Ana"}) == "ana@museum.org"
    assert user_name({"is_logged_in": True, "name": "Ana"}) == "Ana"
    assert user_name({"is_logged_in": True}) == "signed-in user"
    assert user_name({"is_logged_in": False, "email": "ana@museum.org"}) is None
    assert user_name({"email": "test@example.com"}) is None and user_name(None) is None


def test_the_acting_user_belongs_to_one_thread_and_one_block():
    seen = []
    with acting_as("ana@museum.org"):
        thread = threading.Thread(target=lambda: seen.append(current_user()))
        thread.start()
        thread.join()
        assert current_user() == "ana@museum.org"
        with acting_as(None):
            assert current_user() is None
    assert seen == [None] and current_user() is None

    def elsewhere():
        set_current_user("ben@museum.org")
        seen.append(current_user())

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [None, "ben@museum.org"] and current_user() is None
    with pytest.raises(ValueError, match="Received: user=3"):
        set_current_user(3)
