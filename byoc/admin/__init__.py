"""The admin page (`GET /admin`): URLs to paste, install state, counts, dead letters.

It is on when the bridge has an admin token (`Bridge(admin_token=...)`, `BYOC_ADMIN_TOKEN`);
see `auth` for how requests prove they come from the admin, `view` for what is shown and
`page` for the HTML.
"""

from .auth import AdminAuth
from .routes import AdminRefused, AdminRoutes
from .view import AdminView, ChannelRow, gather

__all__ = ["AdminAuth", "AdminRefused", "AdminRoutes", "AdminView", "ChannelRow", "gather"]
