"""`poplist demo`: a small host with a tenant, its domain, two lists and a few hundred members."""

from __future__ import annotations

import random
import secrets

from django.db import transaction

from poplist.accounts import services as accounts
from poplist.accounts.models import Tenant, User
from poplist.lists import services as lists
from poplist.lists.members import add_members
from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin

DEMO_TENANT = "demo"
DEMO_DOMAIN = "lists.example.org"
OWNER = "owner@example.org"
ADMIN = "admin@example.org"
FIRST = [
    "Alice",
    "Bruno",
    "Chloé",
    "David",
    "Élodie",
    "Farid",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jules",
    "Karim",
    "Léa",
]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon"]


def seed() -> dict:
    """Create the demo host once; on later runs reset the passwords so they can be printed again."""
    owner_password = secrets.token_urlsafe(9)
    admin_password = secrets.token_urlsafe(9)
    with transaction.atomic():
        tenant = Tenant.objects.filter(slug=DEMO_TENANT).first()
        if tenant is None:
            tenant = accounts.create_tenant(DEMO_TENANT, "Demo Association", DEMO_DOMAIN)
            accounts.create_user(OWNER, tenant=tenant, password=owner_password, name="Demo Owner")
            accounts.create_user(ADMIN, superuser=True, password=admin_password, name="Host Admin")
            _seed_lists(tenant)
        else:
            for email, password in ((OWNER, owner_password), (ADMIN, admin_password)):
                user = User.objects.get(email=email)
                user.set_password(password)
                user.save(update_fields=["password"])
    return {
        "owner": OWNER,
        "owner_password": owner_password,
        "admin": ADMIN,
        "admin_password": admin_password,
        "lists": [f"news@{DEMO_DOMAIN}", f"discussion@{DEMO_DOMAIN}"],
    }


def _seed_lists(tenant: Tenant) -> None:
    rng = random.Random(2001)
    news = lists.create_list(
        tenant,
        f"news@{DEMO_DOMAIN}",
        display_name="Demo News",
        style="announce",
        owners=[OWNER],
        description="Announcements from the demo association.",
    )
    discussion = lists.create_list(
        tenant,
        f"discussion@{DEMO_DOMAIN}",
        display_name="Discussion",
        owners=[OWNER],
        language="fr",
        description="La liste de discussion de l'association de démonstration.",
    )
    origin = Origin(via=Member.Via.IMPORT, actor="demo")
    people = [f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}{i}@example.net" for i in range(300)]
    add_members(news, people, origin=origin, welcome=False)
    add_members(discussion, people[:120], origin=origin, welcome=False)
    lists.update_settings(discussion, {"subject_prefix": "[discussion] ", "footer": "Liste discussion"})
