"""chart/'s render put back together from the renders of two helm processes, each given
half of the values (:func:`egressctl.mesh.emit.dump_halves`, #12): the text one helm
process prints for all of them, byte for byte.  Pure.

helm prints each object as ``---``, ``# Source: <template>`` and the object, ordered by
kind (a stable sort over the templates taken by path, each in the order it wrote its
objects).  The second half holds objects only of the templates that write one object
per entry, of one kind, in key order, for entries whose keys sort after every entry of
the first half's; and the first half renders every such template too.  So each run of
objects of one template in the second half goes right after the first half's last
object of that template."""

from __future__ import annotations

from egressctl.errors import VerificationError

_MARK = "---\n# Source: "


def _objects(text: str) -> tuple[str, list[tuple[str, str]]]:
    """What comes before the first object (nothing, from helm), and each object's text
    (from its ``---`` line to the next one's) with its template."""
    starts = []
    found = text.find("\n" + _MARK)
    at = 0 if text.startswith(_MARK) else (found + 1 if found >= 0 else -1)
    while at >= 0:
        starts.append(at)
        found = text.find("\n" + _MARK, at)
        at = found + 1 if found >= 0 else -1
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        source_end = text.find("\n", start + len(_MARK), end)
        source = text[start + len(_MARK) : source_end if source_end >= 0 else end]
        out.append((source, text[start:end]))
    return text[: starts[0]] if starts else text, out


def merge_halves(first: str, second: str) -> str:
    """The render of both halves' values, from each half's render."""
    head, objects = _objects(first)
    rest_head, rest = _objects(second)
    if rest_head.strip():
        raise VerificationError(
            "chart/'s second half rendered text outside any object; nothing was applied"
        )
    later: dict[str, list[str]] = {}
    for source, text in rest:
        later.setdefault(source, []).append(text)
    last = {source: i for i, (source, _) in enumerate(objects)}
    missing = sorted(set(later) - set(last))
    if missing:
        raise VerificationError(
            f"chart/'s second half rendered objects of {', '.join(missing)}, which its "
            "first half did not: the halves cannot be put back together; nothing was applied"
        )
    after: dict[int, list[str]] = {last[source]: texts for source, texts in later.items()}
    out = [head]
    for i, (_, text) in enumerate(objects):
        out.append(text)
        out.extend(after.get(i, ()))
    return "".join(out)
