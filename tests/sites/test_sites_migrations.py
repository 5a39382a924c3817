"""Migration 0002: names added before ownership checks existed keep being served."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_existing_hostnames_stay_verified_each_with_a_token_of_its_own():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("sites", "0001_initial")])
    old = executor.loader.project_state([("sites", "0001_initial")]).apps
    tenant = old.get_model("accounts", "Tenant").objects.create(slug="acme", name="Acme")
    site = old.get_model("sites", "Site").objects.create(tenant=tenant, name="blog")
    for name in ("blog.sites.test", "www.acme.test"):
        old.get_model("sites", "Hostname").objects.create(site=site, name=name, is_default=name.startswith("blog"))

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from poplist.sites.models import Hostname

    hosts = list(Hostname.objects.order_by("name"))
    assert [h.verified_at is not None for h in hosts] == [True, True]
    assert hosts[0].token != hosts[1].token and len(hosts[0].token) == 32
