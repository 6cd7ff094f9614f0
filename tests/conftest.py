"""Fixtures shared by every test."""

from tests.db_backends import *  # noqa: F403
