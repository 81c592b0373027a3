"""``airflow.providers_manager``: the installed provider packages, as Airflow's ProvidersManager
finds them.

Each provider wheel declares an ``apache_airflow_provider`` entry point whose function returns
its provider info (``package-name``, ``connection-types``, ``dialects``, ``notifications``,
``task-decorators``, ``config``...). ``ProvidersManager`` (one per process, as Airflow's
singleton) reads them on first use; hooks are imported lazily, when their connection type is
looked up (``ProvidersManager().hooks["postgres"]``), as Airflow does. Airflow's UI-only parts
(connection form widgets built with wtforms) are empty here: Airlane has no Flask forms.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name

from airlane.sdk.provider_hooks import PROVIDER_ENTRY_POINT_GROUP, import_string

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PROVIDER_ENTRY_POINT_GROUP


@dataclass
class ProviderInfo:
    """A provider: its distribution version and the dict its ``get_provider_info()`` returns."""

    version: str
    data: dict[str, Any]


class HookInfo(NamedTuple):
    hook_class_name: str | None
    connection_id_attribute_name: str | None
    package_name: str | None
    hook_name: str
    connection_type: str | None
    connection_testable: bool
    dialects: list[str] = []


class HookClassProvider(NamedTuple):
    hook_class_name: str
    package_name: str


class DialectInfo(NamedTuple):
    name: str
    dialect_class_name: str
    provider_name: str


class NotificationInfo(NamedTuple):
    notification_class_name: str
    package_name: str


class TriggerInfo(NamedTuple):
    trigger_class_name: str
    package_name: str
    integration_name: str


def discover_providers() -> dict[str, ProviderInfo]:
    """Installed providers by package name, from the ``apache_airflow_provider`` entry points."""
    found: dict[str, ProviderInfo] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if dist is None or not dist.metadata:
            continue
        name = canonicalize_name(dist.metadata["Name"])
        if name in found:
            continue
        try:
            data = dict(entry_point.load()())
        except Exception as err:  # one broken provider must not hide the others
            log.warning("Provider %s could not be loaded: %s", name, err)
            continue
        if data.get("package-name") != name:
            raise ValueError(
                f"The package '{name}' from packaging information "
                f"{data.get('package-name')} do not match. Please make sure they are aligned"
            )
        found[name] = ProviderInfo(dist.version, data)
    return dict(sorted(found.items()))


_HookLoader = Callable[[], HookInfo | None] | HookInfo | None


class _LazyHooks(Mapping[str, HookInfo | None]):
    """connection type -> HookInfo, the hook class imported on first access (None if it fails)."""

    def __init__(self, loaders: dict[str, _HookLoader]) -> None:
        self._items = loaders

    def __getitem__(self, key: str) -> HookInfo | None:
        value = self._items[key]
        if isinstance(value, HookInfo) or value is None:
            return value
        loaded = value()
        self._items[key] = loaded  # cached, a failed import (None) too, as Airflow's
        return loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def hook_info(connection_type: str, hook: HookClassProvider) -> HookInfo | None:
    """Import a hook class and describe it, as Airflow's ``ProvidersManager._import_hook``."""
    try:
        hook_class = import_string(hook.hook_class_name)
    except Exception as err:  # a provider feature whose optional packages are missing
        log.warning(
            "Exception when importing '%s' from '%s' package: %s",
            hook.hook_class_name,
            hook.package_name,
            err,
        )
        return None
    conn_type = getattr(hook_class, "conn_type", None)
    if conn_type != connection_type:
        log.warning(
            "The hook class '%s' declares connection type '%s', its provider '%s'",
            hook.hook_class_name,
            conn_type,
            connection_type,
        )
    conn_name_attr = getattr(hook_class, "conn_name_attr", None)
    hook_name = getattr(hook_class, "hook_name", None)
    if not conn_type or not conn_name_attr or not hook_name:
        log.warning(
            "The hook '%s' misses conn_type, conn_name_attr or hook_name", hook.hook_class_name
        )
        return None
    return HookInfo(
        hook_class_name=hook.hook_class_name,
        connection_id_attribute_name=conn_name_attr,
        package_name=hook.package_name,
        hook_name=hook_name,
        connection_type=conn_type,
        connection_testable=hasattr(hook_class, "test_connection"),
    )


class ProvidersManager:
    """The installed providers, read once per process (Airflow's is a singleton too)."""

    _instance: ProvidersManager | None = None
    _initialized = False

    def __new__(cls) -> ProvidersManager:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._provider_dict = None
            cls._instance._hooks = None
        return cls._instance

    _provider_dict: dict[str, ProviderInfo] | None
    _hooks: _LazyHooks | None

    @staticmethod
    def initialized() -> bool:
        return ProvidersManager._initialized

    def initialize_providers_list(self) -> None:
        if self._provider_dict is None:
            self._provider_dict = discover_providers()
            ProvidersManager._initialized = True

    def initialize_providers_hooks(self) -> None:
        if self._hooks is None:
            self._hooks = _LazyHooks(self._hook_loaders())

    # the other ``initialize_providers_*`` of Airflow: everything is read by the two above
    def initialize_providers_configuration(self) -> None:
        self.initialize_providers_list()

    initialize_providers_notifications = initialize_providers_configuration
    initialize_providers_triggers = initialize_providers_configuration
    initialize_providers_taskflow_decorator = initialize_providers_configuration
    initialize_providers_extra_links = initialize_providers_configuration
    initialize_providers_logging = initialize_providers_configuration
    initialize_providers_secrets_backends = initialize_providers_configuration
    initialize_providers_filesystems = initialize_providers_configuration

    @property
    def providers(self) -> dict[str, ProviderInfo]:
        self.initialize_providers_list()
        assert self._provider_dict is not None
        return self._provider_dict

    @property
    def hook_class_providers(self) -> dict[str, HookClassProvider]:
        """connection type -> (hook class name, package), without importing anything."""
        found: dict[str, HookClassProvider] = {}
        for package, info in self.providers.items():
            for item in info.data.get("connection-types", []):
                found.setdefault(
                    item["connection-type"], HookClassProvider(item["hook-class-name"], package)
                )
        return dict(sorted(found.items()))

    def _hook_loaders(self) -> dict[str, _HookLoader]:
        loaders: dict[str, _HookLoader] = {
            key: HookInfo(None, None, None, display, None, False)
            for key, display in (("generic", "Generic"), ("email", "Email"))
        }
        for connection_type, hook in self.hook_class_providers.items():
            loaders[connection_type] = functools.partial(hook_info, connection_type, hook)
        return loaders

    @property
    def hooks(self) -> Mapping[str, HookInfo | None]:
        self.initialize_providers_hooks()
        assert self._hooks is not None
        return self._hooks

    @property
    def dialects(self) -> dict[str, DialectInfo]:
        return {
            item["dialect-type"]: DialectInfo(
                item["dialect-type"], item["dialect-class-name"], package
            )
            for package, info in self.providers.items()
            for item in info.data.get("dialects", [])
        }

    def _listed(self, key: str) -> list[str]:
        return sorted({name for info in self.providers.values() for name in info.data.get(key, [])})

    @property
    def notification(self) -> list[NotificationInfo]:
        return sorted(
            NotificationInfo(name, package)
            for package, info in self.providers.items()
            for name in info.data.get("notifications", [])
        )

    @property
    def trigger(self) -> list[TriggerInfo]:
        return [
            TriggerInfo(module, package, item.get("integration-name", ""))
            for package, info in self.providers.items()
            for item in info.data.get("triggers", [])
            for module in item.get("python-modules", [])
        ]

    @property
    def taskflow_decorators(self) -> dict[str, Any]:
        """``@task.<name>`` decorators providers add (common-sql's ``sql``), imported on access."""
        return {
            item["name"]: _LazyImport(item["class-name"])
            for info in self.providers.values()
            for item in info.data.get("task-decorators", [])
        }

    @property
    def extra_links_class_names(self) -> list[str]:
        return self._listed("extra-links")

    @property
    def logging_class_names(self) -> list[str]:
        return self._listed("logging")

    @property
    def secrets_backend_class_names(self) -> list[str]:
        return self._listed("secrets-backends")

    @property
    def filesystem_module_names(self) -> list[str]:
        return self._listed("filesystems")

    @property
    def provider_configs(self) -> list[tuple[str, dict[str, Any]]]:
        """Each provider's config sections (``smtp``, ``http``...) with Airflow's defaults."""
        return sorted(
            (p, info.data["config"])
            for p, info in self.providers.items()
            if info.data.get("config")
        )

    already_initialized_provider_configs = provider_configs

    @property
    def connection_form_widgets(self) -> dict[str, Any]:
        """Airflow's UI form widgets (wtforms): none in Airlane."""
        return {}

    @property
    def field_behaviours(self) -> dict[str, dict[str, Any]]:
        """connection type -> the provider's ``ui-field-behaviour`` (hidden fields, labels)."""
        return {
            item["connection-type"]: item["ui-field-behaviour"]
            for info in self.providers.values()
            for item in info.data.get("connection-types", [])
            if item.get("ui-field-behaviour")
        }

    def _cleanup(self) -> None:
        self._provider_dict = None
        self._hooks = None
        ProvidersManager._initialized = False


class _LazyImport:
    """A decorator factory named by its dotted path, imported when first called."""

    def __init__(self, dotted_path: str) -> None:
        self.dotted_path = dotted_path

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return import_string(self.dotted_path)(*args, **kwargs)
