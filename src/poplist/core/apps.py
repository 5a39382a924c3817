from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "poplist.core"
    label = "core"

    def ready(self) -> None:
        from django.conf import settings

        from poplist.core.discovery import locale_dirs
        from poplist.core.i18n import compile_catalogs

        for source, target in zip(locale_dirs(settings.PACKAGE_DIR), settings.LOCALE_PATHS, strict=True):
            compile_catalogs(source, target)
