"""Keystone trusts from a function's owner to the Qinling service user.

A function created with a Keystone token gets a trust: the engine later
acts as the owner (jobs, webhooks, and the function's own OpenStack calls)
without the owner's token, which may have expired by then.
"""

from __future__ import annotations

import abc
import logging
import threading

from keystoneauth1 import exceptions as ks_exceptions

from qinling import exceptions, service_auth
from qinling.context import RequestContext

LOG = logging.getLogger(__name__)


class TrustStore(abc.ABC):
    @abc.abstractmethod
    def create(self, ctx: RequestContext) -> str | None:
        """A new trust from the caller to the service user; its id."""

    @abc.abstractmethod
    def delete(self, ctx: RequestContext, trust_id: str | None) -> None:
        """Delete a trust; a trust already gone is fine. Never raises."""


class NoTrusts(TrustStore):
    """``auth_strategy = noauth``: no Keystone, no trusts."""

    def create(self, ctx: RequestContext) -> str | None:
        return None

    def delete(self, ctx: RequestContext, trust_id: str | None) -> None:
        return None


class KeystoneTrusts(TrustStore):
    def __init__(self, conf) -> None:
        self._conf = conf
        self._lock = threading.Lock()
        self._service_auth = None
        self._service_session = None
        self._trustee_id: str | None = None

    def _service(self):
        with self._lock:
            if self._service_session is None:
                self._service_auth = service_auth.load(self._conf)
                self._service_session = service_auth.new_session(self._service_auth)
            return self._service_auth, self._service_session

    def _trustee(self) -> str:
        auth, sess = self._service()
        if self._trustee_id is None:
            self._trustee_id = auth.get_user_id(sess)
        return self._trustee_id

    def _url(self, suffix: str = "") -> str:
        auth, _ = self._service()
        return f"{service_auth.identity_v3_url(auth)}/OS-TRUST/trusts{suffix}"

    def create(self, ctx: RequestContext) -> str | None:
        if not ctx.auth_token or not ctx.user_id:
            raise exceptions.Unauthorized("Creating a function needs a Keystone user token.")
        try:
            response = service_auth.new_session().post(
                self._url(), json=self._body(ctx), headers={"X-Auth-Token": ctx.auth_token}
            )
        except ks_exceptions.Forbidden as err:
            raise exceptions.Forbidden(
                f"Keystone refused to let this token delegate to Qinling (a trust): {err}"
            ) from err
        except ks_exceptions.ClientException as err:
            raise exceptions.ServiceUnavailable(
                f"Keystone did not create the trust the function runs with: {err}"
            ) from err
        trust_id = response.json()["trust"]["id"]
        LOG.info(
            "Trust %s created for user %s of project %s", trust_id, ctx.user_id, ctx.project_id
        )
        return trust_id

    def _body(self, ctx: RequestContext) -> dict:
        return {
            "trust": {
                "trustor_user_id": ctx.user_id,
                "trustee_user_id": self._trustee(),
                "project_id": ctx.project_id,
                "impersonation": True,
                "roles": [{"name": role} for role in ctx.roles],
            }
        }

    def delete(self, ctx: RequestContext, trust_id: str | None) -> None:
        if not trust_id:
            return
        # The trustor may delete it; anyone else in the project falls back to
        # the service user (allowed where it has an admin role).
        if ctx.auth_token and self._delete_as({"X-Auth-Token": ctx.auth_token}, trust_id):
            return
        try:
            _, sess = self._service()
            if self._delete_as({}, trust_id, sess):
                return
        except exceptions.QinlingError as err:
            LOG.warning("Trust %s not deleted: %s", trust_id, err.message)
            return
        LOG.warning("Trust %s could not be deleted; delete it in Keystone", trust_id)

    def _delete_as(self, headers: dict, trust_id: str, sess=None) -> bool:
        sess = sess or service_auth.new_session()
        try:
            sess.delete(self._url(f"/{trust_id}"), headers=headers)
        except ks_exceptions.NotFound:
            return True
        except ks_exceptions.ClientException as err:
            LOG.info("Deleting trust %s failed: %s", trust_id, err)
            return False
        LOG.info("Trust %s deleted", trust_id)
        return True
