"""Seva CRM: an open, multi-tenant CRM backend for small service businesses in India and
Bangladesh, with privacy law built in.

The installed distribution is this one package. ``seva_crm.core`` (the domain), ``seva_crm.schema``
(the GraphQL API) and ``seva_crm.plugins`` (the built-in integrations) come from the repository's
``core/``, ``schema/`` and ``plugins/`` folders; this folder adds the command line
(``seva_crm.cli``), the partner facade (``seva_crm.plugin_api``) and the testing helpers
(``seva_crm.testing``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seva-crm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
