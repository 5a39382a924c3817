from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "poplist.core"
    label = "core"

    def ready(self) -> None:
        from django.conf import settings

        from poplist.core.i18n import compile_catalogs

        compile_catalogs(settings.PACKAGE_DIR / "locale", settings.COMPILED_LOCALE_DIR)
