"""Face Mesh landmark sets (mediapipe's edge lists) as polygons to fill."""

from __future__ import annotations

import numpy as np


def chains(edges) -> list[list[int]]:
    """Split an edge set into its connected paths, each in walking order (closed loops repeat no point)."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    seen: set[int] = set()
    out = []
    ends = sorted(n for n, nb in adj.items() if len(nb) == 1)  # open paths start at an end
    for start in ends + sorted(adj):
        if start in seen:
            continue
        path, prev, node = [start], None, start
        seen.add(start)
        while True:
            nxt = [n for n in adj[node] if n != prev and n not in seen]
            if not nxt:
                break
            prev, node = node, nxt[0]
            path.append(node)
            seen.add(node)
        out.append(path)
    return out


def area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def outline(edges, pts: np.ndarray) -> np.ndarray:
    """One polygon for a part: its single loop, or two open lines (a brow's upper and lower edge) joined."""
    paths = chains(edges)
    if len(paths) == 1:
        return pts[paths[0]]
    a, b = paths[0], paths[1]
    if np.linalg.norm(pts[a[-1]] - pts[b[0]]) > np.linalg.norm(pts[a[-1]] - pts[b[-1]]):
        b = b[::-1]
    return pts[a + b]


def ring(edges, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outer and inner loop of a two-loop set (the lips): fill the outer, cut out the inner (the open mouth)."""
    loops = sorted((pts[p] for p in chains(edges)), key=area, reverse=True)
    return loops[0], loops[1]
