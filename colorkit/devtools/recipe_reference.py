"""The recipe key reference in Markdown, generated from the schema so the docs cannot drift.

Regenerate with ``python -m colorkit.devtools.recipe_reference > docs/recipe-reference.md``.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from colorkit.recipe import Recipe


def _type(annotation) -> str:
    text = getattr(annotation, "__name__", None) if typing.get_origin(annotation) is None else None
    return text or str(annotation).replace("typing.", "").replace("NoneType", "None")


def _default(field) -> str:
    if field.default is PydanticUndefined:
        if field.default_factory is None:
            return "required"
        value = field.default_factory()
        return "see below" if isinstance(value, BaseModel) else f"`{value!r}`"
    return f"`{field.default!r}`"


def _section(prefix: str, model: type[BaseModel], out: list[str]) -> None:
    nested = []
    out += [f"## `{prefix or 'top level'}`", "", (model.__doc__ or "").strip(), "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        ann = field.annotation
        inner = typing.get_args(ann)[0] if typing.get_origin(ann) in (list, typing.Union) else ann  # list[X], Optional[X]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            nested.append((f"{prefix}.{name}" if prefix else name, inner, typing.get_origin(ann) is list))
            continue
        desc = (field.description or "").replace("|", "\\|")
        out.append(f"| `{name}` | `{_type(ann)}` | {_default(field)} | {desc} |")
    out.append("")
    for key, sub, is_list in nested:
        _section(f"[[{key}]]" if is_list else key, sub, out)


def reference() -> str:
    out = ["# Recipe reference", "", "Generated from `colorkit/recipe.py` by `python -m colorkit.devtools.recipe_reference`;", "a test fails when this page and the schema disagree.", ""]
    _section("", Recipe, out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
