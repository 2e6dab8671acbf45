"""Back to a fresh demo: the schema brought to the newest, every table emptied (but the
server's settings, which keep its JWT secret), then the demo data of ``ordergate init
--demo`` and new tokens.

Nothing may write to the database meanwhile: ``ordergate reset`` refuses while a server runs
on it (``JournalLocked``), and the admin API's reset stops its own server's engine first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from ordergate.bootstrap import administration, close_administration
from ordergate.demo import ADMIN_USER, DEMO_ACCOUNTS, DEMO_USER, MANAGER_USER, seed_demo
from ordergate.settings import Settings
from ordergate.store.journals import ensure_free
from ordergate.store.migrate import upgrade
from ordergate.store.tables import metadata

#: What a reset keeps: the server's own settings (its generated JWT secret), not demo data.
_KEPT = frozenset({"settings"})

__all__ = ["reset_demo"]


async def reset_demo(settings: Settings, label: str = "ordergate reset") -> dict[str, Any]:
    """Empty the database of ``settings`` and seed the demo again: what was added, a new
    bearer token for the demo user and one for the admin, and the demo sign-ins."""
    await ensure_free(settings.database_url)
    admin = await administration(settings, migrate=False)
    try:
        await upgrade(admin.db)
        async with admin.store.transaction() as tx:
            # Children first: every foreign key still finds its row until it goes itself.
            for table in reversed(metadata.sorted_tables):
                if table.name not in _KEPT:
                    await tx.connection.execute(delete(table))
            await tx.commit()
        seed = await seed_demo(admin)
        token = await admin.users.create_token(DEMO_USER, label)
        admin_token = await admin.users.create_token(ADMIN_USER, label)
    finally:
        await close_administration(admin)
    manager, login, password = MANAGER_USER
    return {
        "added": {
            "instruments": list(seed.instruments),
            "users": list(seed.users),
            "accounts": list(seed.accounts),
            "orders": seed.orders,
        },
        "user": DEMO_USER,
        "token": token,
        "admin_token": admin_token,
        "accounts": [
            *({"name": a.name, "login": a.login, "password": a.password} for a in DEMO_ACCOUNTS),
            {"name": f"{manager} (manager)", "login": login, "password": password},
        ],
    }
