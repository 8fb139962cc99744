"""The 0.1 import paths still work for one release, and say where things went."""

from __future__ import annotations

import importlib
import sys

import pytest

from qbo_sync import _moved


@pytest.mark.parametrize("old,new", sorted(_moved.MOVED.items()))
def test_old_module_path_forwards_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    public = [n for n in vars(target) if not n.startswith("_")]
    assert public and all(getattr(module, n) is getattr(target, n) for n in public)


@pytest.mark.parametrize("old,home", sorted(
    ((mod, name), home) for (mod, name), home in _moved.MOVED_NAMES.items()))
def test_names_that_moved_elsewhere_are_found_in_their_new_home(old, home):
    mod, name = old
    sys.modules.pop(mod, None)
    with pytest.warns(DeprecationWarning):
        module = importlib.import_module(mod)
    assert getattr(module, name) is getattr(importlib.import_module(home), name)


def test_renamed_exceptions_keep_their_old_names_for_a_release():
    from qbo_sync import exceptions

    with pytest.warns(DeprecationWarning, match="QBOValidationError"):
        assert exceptions.ValidationError is exceptions.QBOValidationError
    with pytest.warns(DeprecationWarning, match="QBOPermissionDenied"):
        assert exceptions.PermissionDenied is exceptions.QBOPermissionDenied
