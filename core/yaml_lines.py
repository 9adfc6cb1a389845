"""A YAML document read with the line of every key, so a wrong entry is refused naming its line."""

from typing import Any, TypeVar

import yaml

R = TypeVar("R", bound="LineReader")


def read_yaml(text: str, source: str, reader: type[R]) -> tuple[Any, R]:
    """The document's data and a reader of its lines; invalid YAML raises the reader's error."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise reader.error(f"{source}: not valid YAML ({exc})") from None
    return data, reader(source, _lines(node) if node else {})


def _lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """The line (1-based) of every key and item in a composed YAML tree."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found.update(_lines(value, (*path, key.value)))
            found[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.update(_lines(item, (*path, i)))
    return found


class LineReader:
    """Builds the error for an entry, naming the file, the line and the entry's path."""

    error: type[ValueError] = ValueError  # a document's own error class, set by a subclass

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, path: tuple[Any, ...], message: str) -> ValueError:
        """The error for `path`, at the line of its nearest ancestor the document holds."""
        while path and path not in self.lines:
            path = path[:-1]
        where = ".".join(str(p) for p in path) or "top level"
        return self.error(f"{self.source}, line {self.lines.get(path, 1)} ({where}): {message}")
