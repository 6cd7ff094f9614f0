"""Qinling: Function-as-a-Service for OpenStack."""
