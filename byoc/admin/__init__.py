"""The admin page (`GET /admin`): URLs to paste, install state, counts, dead letters.

It is on when the bridge has an admin token (`Bridge(admin_token=...)`, `BYOC_ADMIN_TOKEN`);
see `auth` for how requests prove they come from the admin, `page` for the HTML; what it
shows is the bridge's `byoc.status.BridgeStatus`.
"""

from .auth import AdminAuth
from .routes import AdminBackend, AdminRefused, AdminRoutes

__all__ = ["AdminAuth", "AdminBackend", "AdminRefused", "AdminRoutes"]
