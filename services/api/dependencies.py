"""Dependency graphs between schedules (or jobs): cycle detection and dependents. Pure."""

from collections.abc import Mapping, Sequence


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in `graph` (node -> the nodes it depends on) as [a, b, ..., a], or None."""
    white, grey, black = 0, 1, 2
    color: dict[str, int] = {}
    for root in sorted(graph):
        if color.get(root, white) != white:
            continue
        path: list[str] = [root]
        color[root] = grey
        stack = [iter(sorted(graph.get(root, ())))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                color[path.pop()] = black
                stack.pop()
                continue
            state = color.get(child, white)
            if state == grey:
                return path[path.index(child) :] + [child]
            if state == white:
                color[child] = grey
                path.append(child)
                stack.append(iter(sorted(graph.get(child, ()))))
    return None


def dependents(graph: Mapping[str, Sequence[str]], node: str) -> list[str]:
    """The nodes that depend directly on `node`."""
    return sorted(other for other, needs in graph.items() if node in needs and other != node)
