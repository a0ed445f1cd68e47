"""Loading themes: the built-in files, then a user folder that adds themes or overrides by id.

A broken file never stops the others from loading: its error (file and field) is collected as a
warning and the catalogue carries on without it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from themes.model import Theme, ThemeError, theme_from_dict

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass
class ThemeCatalog:
    themes: dict[str, Theme] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, theme_id: str) -> Theme:
        try:
            return self.themes[theme_id]
        except KeyError:
            raise KeyError(f"no theme {theme_id!r}; known: {', '.join(sorted(self.themes))}") from None


def load_theme(path: Path) -> Theme:
    """One theme file; raises ThemeError naming the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ThemeError(path.name, "(toml)", f"not valid TOML: {error}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeError(path.name, "(file)", f"unreadable: {error}") from error
    return theme_from_dict(data, str(path.name))


def load_folder(folder: Path, catalog: ThemeCatalog) -> None:
    """Add every *.toml in `folder` to `catalog` (later files override earlier ids)."""
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            theme = load_theme(path)
        except ThemeError as error:
            catalog.warnings.append(f"{folder.name}/{error}")
            continue
        if theme.id in seen:
            catalog.warnings.append(
                f"{path.name}: field 'id': {theme.id!r} already defined by {seen[theme.id]}"
            )
        seen[theme.id] = path.name
        catalog.themes[theme.id] = theme


def load_themes(user_dir: Path | None = None, builtin_dir: Path = BUILTIN_DIR) -> ThemeCatalog:
    """Built-in themes, then `user_dir`'s (which add new ids or replace built-ins of the same id)."""
    catalog = ThemeCatalog()
    load_folder(builtin_dir, catalog)
    if user_dir is not None:
        if user_dir.is_dir():
            load_folder(user_dir, catalog)
        else:
            catalog.warnings.append(f"theme folder {user_dir} does not exist")
    return catalog
