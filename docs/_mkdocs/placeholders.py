"""mkdocs hook: a page that the project links to but that is still being written gets a placeholder.

``docs/results.md`` holds measured results that take hours of training to produce; until it lands,
the site shows this placeholder instead of a broken link, so ``mkdocs build --strict`` still catches
every other broken link. A real file always wins.
"""

from mkdocs.structure.files import File

PLACEHOLDERS = {
    "results.md": (
        "# Results\n\n"
        "The loss comparison on UTKFace is still being measured; this page is replaced by its results\n"
        "table and image grid when they land. Reproduce them with:\n\n"
        "```bash\ncolorkit compare recipes/compare_losses.toml\n```\n\n"
        "See the [loss guide](losses.md) for what each loss is for.\n"
    ),
}


def on_files(files, config):
    for src, content in PLACEHOLDERS.items():
        if files.get_file_from_path(src) is None:
            files.append(File.generated(config, src, content=content))
    return files
